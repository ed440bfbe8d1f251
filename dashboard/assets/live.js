// The dashboard's only script: keeps the page live over server-sent events, and sends a cancel.
// The server renders every part; this swaps in the parts that changed (elements with data-live).
(() => {
  const body = document.body;
  const live = document.getElementById('live');
  const params = new URLSearchParams({ view: body.dataset.view || 'overview' });
  if (body.dataset.group) params.set('group', body.dataset.group);
  if (body.dataset.page) params.set('page', body.dataset.page);
  const source = new EventSource(`/events?${params}`);

  const status = (text, state) => {
    if (!live) return;
    live.textContent = text;
    live.dataset.state = state;
  };

  source.addEventListener('update', (event) => {
    const parts = JSON.parse(event.data);
    for (const [name, markup] of Object.entries(parts)) {
      const element = document.querySelector(`[data-live="${name}"]`);
      if (element) element.innerHTML = markup;
    }
  });
  source.addEventListener('tick', (event) => {
    status(`live · ${new Date(JSON.parse(event.data)).toLocaleTimeString()}`, 'live');
  });
  source.addEventListener('problem', (event) => {
    status(`problem: ${JSON.parse(event.data).message}`, 'problem');
  });
  source.addEventListener('error', () => status('reconnecting…', 'problem'));

  document.addEventListener('click', async (event) => {
    const button = event.target instanceof Element ? event.target.closest('[data-cancel]') : null;
    if (!button) return;
    const id = button.getAttribute('data-cancel');
    if (!window.confirm(`Cancel group ${id}? Queued tasks never start; running ones are aborted.`)) return;
    button.disabled = true;
    button.textContent = 'Cancelling…';
    const response = await fetch(`/api/groups/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'cancelled from the dashboard' }),
    });
    if (!response.ok) {
      button.disabled = false;
      button.textContent = 'Cancel group';
      status(`cancel failed: ${response.status}`, 'problem');
    }
  });
})();
