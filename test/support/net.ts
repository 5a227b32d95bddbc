/** Loopback helpers shared by the mock servers of the provider tests. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A 127.0.0.1 port nothing listens on (bound, then closed): an unreachable provider. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
