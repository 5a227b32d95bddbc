/**
 * The camera facts people ask about, from a photo's EXIF block: make and model, when it was
 * taken, the lens, and where (GPS). Parsed with exif-reader; a missing or broken block is
 * simply no facts, never an error (many images carry none, and a bad one must not fail a
 * request whose pixels are fine).
 */
import exifReader from 'exif-reader';

export interface CameraFacts {
  make?: string;
  model?: string;
  /** ISO 8601 date-time, as recorded by the camera (its local time). */
  taken?: string;
  lens?: string;
  /** Decimal degrees. */
  gps?: { latitude: number; longitude: number };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.replace(/\0+$/, '').trim() : undefined);

function degrees(dms: unknown, ref: unknown): number | undefined {
  if (!Array.isArray(dms) || dms.length !== 3 || !dms.every((x) => typeof x === 'number')) return undefined;
  const [d, m, s] = dms as [number, number, number];
  const value = d + m / 60 + s / 3600;
  return ref === 'S' || ref === 'W' ? -value : value;
}

export function cameraFacts(exif: Buffer | undefined): CameraFacts | undefined {
  if (!exif || exif.length < 8) return undefined;
  let tags: ReturnType<typeof exifReader>;
  try {
    tags = exifReader(exif);
  } catch {
    return undefined;
  }
  const taken = tags.Photo?.DateTimeOriginal ?? tags.Image?.DateTime;
  const latitude = degrees(tags.GPSInfo?.GPSLatitude, tags.GPSInfo?.GPSLatitudeRef);
  const longitude = degrees(tags.GPSInfo?.GPSLongitude, tags.GPSInfo?.GPSLongitudeRef);
  const facts: CameraFacts = {
    ...(text(tags.Image?.Make) ? { make: text(tags.Image?.Make)! } : {}),
    ...(text(tags.Image?.Model) ? { model: text(tags.Image?.Model)! } : {}),
    ...(taken instanceof Date && !Number.isNaN(taken.getTime()) ? { taken: taken.toISOString().replace(/\.000Z$/, '') } : {}),
    ...(text(tags.Photo?.LensModel) ? { lens: text(tags.Photo?.LensModel)! } : {}),
    ...(latitude !== undefined && longitude !== undefined ? { gps: { latitude, longitude } } : {}),
  };
  return Object.keys(facts).length ? facts : undefined;
}
