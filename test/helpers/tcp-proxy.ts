import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback between a client and Redis, so a test can cut the client off: `freeze()` stops
 * forwarding in both directions (connections stay open, as on a network partition), `thaw()` resumes,
 * `drop()` closes every connection (the client reconnects).
 */
export class TcpProxy {
  readonly url: string;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly #sent = new WeakMap<[Socket, Socket], string>();
  #frozen = false;
  #swallowAfter: ((sent: string) => boolean) | undefined;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(target: URL): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.connect(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    proxy = new TcpProxy(server, typeof address === 'object' && address !== null ? address.port : 0);
    return proxy;
  }

  connect(client: Socket, target: URL): void {
    const upstream = connect(Number(target.port), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // The first bytes a client sends (its CLIENT SETNAME among them), for freezeNamed().
    let sent = '';
    client.on('data', (chunk: Buffer) => {
      if (this.#swallowAfter?.(chunk.toString('latin1'))) {
        // The chunk is already on its way to Redis (the pipe listener came first); its reply is not.
        this.#swallowAfter = undefined;
        upstream.unpipe(client);
        upstream.resume();
      }
      if (sent.length >= 4096) return;
      sent += chunk.toString('latin1');
      this.#sent.set(pair, sent);
    });
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    if (this.#frozen) this.#pause(pair);
  }

  freeze(): void {
    this.#frozen = true;
    for (const pair of this.#pairs) this.#pause(pair);
  }

  /**
   * Freezes only the open connections that named themselves `name` (CLIENT SETNAME): e.g. a worker's
   * subscriber goes deaf while its commands still flow. Returns how many; `thaw()` resumes them.
   */
  freezeNamed(name: string): number {
    const wanted = `$${name.length}\r\n${name}\r\n`;
    let frozen = 0;
    for (const pair of this.#pairs) {
      if (this.#sent.get(pair)?.includes(wanted)) {
        this.#pause(pair);
        frozen++;
      }
    }
    return frozen;
  }

  /**
   * The next bytes a client sends that `match` accepts (one write: a command, or a pipeline) reach
   * Redis, but from then on no reply on that connection reaches the client, until `drop()`: a
   * connection lost between a command and its reply.
   */
  swallowRepliesAfter(match: (sent: string) => boolean): void {
    this.#swallowAfter = match;
  }

  thaw(): void {
    this.#frozen = false;
    for (const [client, upstream] of this.#pairs) {
      client.resume();
      upstream.resume();
    }
  }

  drop(): void {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pause([client, upstream]: [Socket, Socket]): void {
    client.pause();
    upstream.pause();
  }
}
