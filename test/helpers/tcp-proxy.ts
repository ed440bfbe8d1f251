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
  #frozen = false;

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
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    if (this.#frozen) this.#pause(pair);
  }

  freeze(): void {
    this.#frozen = true;
    for (const pair of this.#pairs) this.#pause(pair);
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
