import { describe, expect, it } from 'vitest';
import { createAuthenticator, OPEN_PROJECT, projectOfKey } from '../../src/server/auth.js';
import type { ApiError } from '../../src/errors.js';
import { errorBody } from '../../src/server/error-envelope.js';

const fails = (f: () => unknown): ApiError => {
  try {
    f();
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a rejection');
};

describe('authentication', () => {
  it('runs open with no keys configured: one shared project', () => {
    const auth = createAuthenticator([]);
    expect(auth({})).toEqual({ project: OPEN_PROJECT });
    expect(auth({ headerKey: 'anything' })).toEqual({ project: OPEN_PROJECT });
  });

  it('accepts a configured key from the header, the query or a bearer token', () => {
    const auth = createAuthenticator(['k1', 'k2']);
    expect(auth({ headerKey: 'k1' }).project).toBe(projectOfKey('k1'));
    expect(auth({ queryKey: 'k2' }).project).toBe(projectOfKey('k2'));
    expect(auth({ authorization: 'Bearer k1' }).project).toBe(projectOfKey('k1'));
    expect(projectOfKey('k1')).not.toContain('k1');
  });

  it("answers Gemini's exact errors for a bad and a missing key", () => {
    const auth = createAuthenticator(['k1']);
    const bad = fails(() => auth({ headerKey: 'nope' }));
    expect(bad.httpStatus).toBe(400);
    expect(errorBody(bad).error).toMatchObject({
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: 'API key not valid. Please pass a valid API key.',
    });
    expect(JSON.stringify(bad.details)).toContain('API_KEY_INVALID');
    const missing = fails(() => auth({}));
    expect(missing.httpStatus).toBe(403);
    expect(missing.status).toBe('PERMISSION_DENIED');
    expect(missing.message).toMatch(/^Method doesn't allow unregistered callers/);
    expect(fails(() => auth({ authorization: 'Bearer nope' })).httpStatus).toBe(401);
  });
});
