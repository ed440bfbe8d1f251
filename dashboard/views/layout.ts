import { type Html, html } from '../html.ts';

export interface PageOptions {
  readonly title: string;
  readonly queue: string;
  /** Tells the client script what to subscribe to: `overview`, or `group` with data-group. */
  readonly view: 'overview' | 'group';
  readonly attributes?: Html;
  readonly body: Html;
}

/** The page shell: header with the queue and links, the content, and the live-update script. */
export function page(options: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · taskfleet</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body data-view="${options.view}" ${options.attributes}>
<header>
  <a class="brand" href="/">taskfleet</a>
  <span class="queue">queue <b>${options.queue}</b></span>
  <nav><a href="/">Overview</a> <a href="/queues">BullMQ jobs (bull-board)</a></nav>
  <span class="live" id="live" title="Updates arrive by server-sent events">connecting…</span>
</header>
<main>${options.body}</main>
<script src="/assets/live.js" defer></script>
</body>
</html>`;
}
