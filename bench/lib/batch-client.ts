/**
 * The batch bench's client side, shared by its two parts (one server, replicas on the
 * scale-out stack): photos uploaded once, detection requests naming them by fileData, the
 * JSONL input file, and a file batch timed from create to the poll that sees it end.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const DETECT = 'Detect all of the prominent items in the image. The box_2d should be [ymin, xmin, ymax, xmax] normalized to 0-1000.';

/** Uploads each photo once (multipart, the SDK's simple path); their `fileUri`s. */
export async function uploadPhotos(port: number, photoPaths: string[]): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const uris: string[] = [];
  for (const p of photoPaths) {
    const bytes = await readFile(p);
    const boundary = 'ocellus-bench';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ file: { displayName: path.basename(p) } })}\r\n--${boundary}\r\ncontent-type: image/jpeg\r\n\r\n`),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await fetch(`http://127.0.0.1:${port}/upload/v1beta/files?uploadType=multipart`, {
      method: 'POST',
      headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'x-goog-upload-protocol': 'multipart' },
      body,
    });
    if (!res.ok) throw new Error(`upload ${p}: ${res.status} ${await res.text()}`);
    uris.push(((await res.json()) as { file: { uri: string } }).file.uri);
  }
  return uris;
}

/** The i-th detection request of the batch: photo i mod the number of photos, by fileData. */
export const detectRequest = (uris: string[], i: number) => ({
  contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'image/jpeg', fileUri: uris[i % uris.length] } }, { text: DETECT }] }],
});

/** Uploads the N requests as one JSONL file (raw upload); its `files/{id}`. */
export async function uploadRequests(port: number, uris: string[], n: number): Promise<string> {
  const jsonl = Array.from({ length: n }, (_, i) => JSON.stringify({ key: `r${i}`, request: detectRequest(uris, i) })).join('\n');
  const res = await fetch(`http://127.0.0.1:${port}/upload/v1beta/files?uploadType=media`, {
    method: 'POST',
    headers: { 'content-type': 'application/jsonl', 'x-goog-upload-protocol': 'raw' },
    body: `${jsonl}\n`,
  });
  if (!res.ok) throw new Error(`upload jsonl: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { file: { name: string } }).file.name;
}

/** Creates a file batch on `port` and polls (every 200 ms) until it ends: seconds from create to the poll that sees it done, and its failed count. */
export async function timeFileBatch(port: number, inputName: string, pollPorts: number[] = [port]): Promise<{ seconds: number; failed: number }> {
  const base = (p: number) => `http://127.0.0.1:${p}/v1beta`;
  const t0 = performance.now();
  const res = await fetch(`${base(port)}/models/gemini-2.5-flash:batchGenerateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ batch: { displayName: 'bench', inputConfig: { fileName: inputName } } }),
  });
  if (!res.ok) throw new Error(`create batch: ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { name: string };
  let op: any;
  for (let i = 0; ; i++) {
    op = await (await fetch(`${base(pollPorts[i % pollPorts.length]!)}/${created.name}`)).json();
    if (op.done) break;
    await sleep(200);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (op.metadata.state !== 'BATCH_STATE_SUCCEEDED') throw new Error(`the batch ended ${op.metadata.state}`);
  return { seconds, failed: Number(op.metadata.batchStats.failedRequestCount) };
}

