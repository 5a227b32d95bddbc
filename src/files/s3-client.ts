/**
 * The S3 client for `--storage-url`, kept apart from the store (s3-blob.ts), which is
 * handed a client and does not care how it was made.
 */
import { S3Client } from '@aws-sdk/client-s3';

/**
 * Checksums only where the API requires them: by default the SDK sends streamed bodies as
 * `aws-chunked` with trailing checksums, which S3-compatible servers (Swift's s3api among
 * them) refuse with 501.
 */
export const S3_COMPATIBLE = { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } as const;

/**
 * The client for `--storage-url`: endpoint, region and path style from the URL (region
 * us-east-1 when the URL names none, which S3-compatible servers accept); credentials from
 * the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles).
 */
export function createS3Client(location: { endpoint?: string | undefined; region?: string | undefined; forcePathStyle: boolean }): S3Client {
  return new S3Client({
    ...(location.endpoint ? { endpoint: location.endpoint } : {}),
    region: location.region ?? 'us-east-1',
    forcePathStyle: location.forcePathStyle,
    ...S3_COMPATIBLE,
  });
}
