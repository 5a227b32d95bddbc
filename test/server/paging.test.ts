/** The one paging rule every list route uses (server/paging.ts). */
import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken, nextPage, pageRequest, parsePageSize } from '../../src/server/paging.js';

const limits = { fallback: 10, max: 100 };

describe('page size', () => {
  it('absent, empty or 0 is the default; larger than the maximum is clamped', () => {
    expect(parsePageSize({}, limits)).toBe(10);
    expect(parsePageSize({ pageSize: '' }, limits)).toBe(10);
    expect(parsePageSize({ pageSize: '0' }, limits)).toBe(10);
    expect(parsePageSize({ page_size: '7' }, limits)).toBe(7);
    expect(parsePageSize({ pageSize: '1000' }, limits)).toBe(100);
  });

  it('anything but a non-negative integer is 400 naming the field as sent', () => {
    for (const bad of ['-1', '3.5', 'abc', '1e3', '1e309', '99999999999999999999'])
      expect(() => parsePageSize({ pageSize: bad }, limits)).toThrow(expect.objectContaining({ httpStatus: 400 }));
    expect(() => parsePageSize({ page_size: 'x' }, limits)).toThrow(/page_size/);
    expect(() => parsePageSize({ pageSize: 'x' }, limits)).toThrow(/pageSize/);
  });
});

describe('page tokens', () => {
  it('round-trip the cursor of their own list only', () => {
    const token = encodePageToken('files', 12345);
    expect(token).not.toContain('12345');
    expect(decodePageToken(token, 'files')).toBe(12345);
    expect(() => decodePageToken(token, 'models')).toThrow(expect.objectContaining({ httpStatus: 400 }));
    for (const bad of ['garbage', '%', 'eyJ4IjoxfQ', 'A'.repeat(2000), encodePageToken('files', -1)])
      expect(() => decodePageToken(bad, 'files')).toThrow(expect.objectContaining({ httpStatus: 400 }));
  });

  it('pageRequest reads size and cursor in either key case; nextPage omits the field at the end', () => {
    expect(pageRequest({ page_size: '2', page_token: encodePageToken('models', 4) }, 'models', limits)).toEqual({ size: 2, cursor: 4 });
    expect(pageRequest({ pageSize: '3' }, 'models', limits)).toEqual({ size: 3, cursor: undefined });
    expect(nextPage('files', undefined)).toEqual({});
    expect(decodePageToken(nextPage('files', 9).nextPageToken!, 'files')).toBe(9);
  });
});
