/**
 * The playground's Batches tab in headless Chromium against the real server (API keys
 * enforced, no models: the tab is under test, not the engine): a file batch made through
 * the SDK shows with its progress and state, its responses file downloads through the
 * tab's link with one line per request, and Delete removes the row.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as genai3 from 'genai3';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { startServer, type RunningServer } from '../support/server.js';
import { ensureWebBuild } from '../support/web-build.js';
import { MODEL, until } from './helpers.js';

const KEY = 'batches-tab-key';
let server: RunningServer;
let browser: Browser;
let tmp: string;

beforeAll(async () => {
  await ensureWebBuild();
  [server, browser] = await Promise.all([startServer({ apiKeys: [KEY], flags: { engine: 'measurements' } }), launchChromium()]);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ocellus-batches-tab-'));
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Batches tab', () => {
  it('lists a finished file batch with its progress, downloads its responses, deletes it', { timeout: 120_000 }, async () => {
    const ai = new genai3.GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: server.baseUrl, apiVersion: 'v1beta' } });
    const input = path.join(tmp, 'in.jsonl');
    const line = (key: string, text: string) => JSON.stringify({ key, request: { contents: [{ role: 'user', parts: [{ text }] }] } });
    writeFileSync(input, `${line('a', 'hello')}\n${line('b', 'world')}\n`);
    const file = await ai.files.upload({ file: input, config: { mimeType: 'application/jsonl' } });
    const job = await ai.batches.create({ model: MODEL, src: file.name!, config: { displayName: 'tab test' } });
    await until('the batch to finish', async () => {
      const j = await ai.batches.get({ name: job.name! });
      return j.state === 'JOB_STATE_SUCCEEDED' ? j : undefined;
    });

    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.addInitScript((key) => localStorage.setItem('ocellus.apiKey', key), KEY);
    await page.goto(`${server.baseUrl}/`);
    await page.click('#tab-button-batches');
    const row = page.locator(`#batches-table tr[data-name="${job.name}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('BATCH_STATE_SUCCEEDED');
    expect(await row.locator('td.progress').innerText()).toContain('2 / 2');
    expect(await row.innerText()).toContain('tab test');

    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('button.download').click()]);
    const saved = path.join(tmp, 'out.jsonl');
    await download.saveAs(saved);
    const lines = readFileSync(saved, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.key)).toEqual(['a', 'b']);
    expect(lines.every((l) => l.response?.candidates?.length > 0)).toBe(true);

    await row.locator('button.delete').click();
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('#batches-table').innerText()).toContain('No batch jobs.');
    await context.close();
  });
});
