import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A private CA and a server certificate it signed, for `localhost` and 127.0.0.1, in a temp dir. */
export interface TestCertificates {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA certificate (PEM), for a client's `tls: { ca }`. */
  readonly ca: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

/** Generated with openssl: EC keys (quick to make), valid for a day. */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'taskfleet-tls-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await openssl(
      ...['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1'],
      ...['-subj', '/CN=taskfleet test CA'],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'],
    );
    await openssl(
      'req',
      '-new',
      ...ec,
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    );
    await writeFile(
      file('server.ext'),
      [
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
      ].join('\n'),
    );
    await openssl(
      ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', 'server.crt', '-days', '1', '-extfile', 'server.ext'],
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    ca: await readFile(file('ca.crt'), 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
