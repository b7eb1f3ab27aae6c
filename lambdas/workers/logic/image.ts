/**
 * Image decoding for the workers: sniffs the format from the magic bytes and decodes PNG (pngjs)
 * or JPEG (jpeg-js), both pure JS, into RGBA pixels. Limits are checked before any pixel buffer is
 * allocated, so a hostile image (huge declared dimensions, oversized payload) fails fast instead
 * of exhausting the Lambda's memory. Every failure is an `ImageDecodeError`.
 */
import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';

export type ImageFormat = 'png' | 'jpeg';

export interface DecodedImage {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes a pixel, row-major. */
  readonly data: Uint8Array;
}

export interface ImageLimits {
  /** Largest accepted payload, bytes. */
  readonly maxBytes: number;
  /** Largest accepted width x height, megapixels. */
  readonly maxResolutionInMP: number;
  /** Largest working memory jpeg-js may allocate for one decode, MB. */
  readonly maxMemoryUsageInMB: number;
}

/** YouTube's largest thumbnail (maxresdefault) is 1280x720 = 0.92 MP; these leave ample headroom. */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: 8 * 1024 * 1024, maxResolutionInMP: 4, maxMemoryUsageInMB: 64 };

export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47] as const;
const JPEG_MAGIC = [0xff, 0xd8, 0xff] as const;

const startsWith = (bytes: Uint8Array, magic: readonly number[]): boolean => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** The format named by the leading magic bytes, or undefined for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, PNG_MAGIC)) return 'png';
  if (startsWith(bytes, JPEG_MAGIC)) return 'jpeg';
  return undefined;
}

const hexPrefix = (bytes: Uint8Array): string => [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function checkResolution(width: number, height: number, limits: ImageLimits): void {
  if (width * height > limits.maxResolutionInMP * 1_000_000) throw new ImageDecodeError(`image of ${width}x${height} exceeds the ${limits.maxResolutionInMP} MP limit`);
}

function decodePng(bytes: Uint8Array, limits: ImageLimits): DecodedImage {
  // IHDR must be the first chunk: length(4) "IHDR"(4) width(4) height(4), after the 8-byte signature.
  if (bytes.length < 24) throw new ImageDecodeError('truncated PNG header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkResolution(view.getUint32(16), view.getUint32(20), limits);
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { format: 'png', width: png.width, height: png.height, data: png.data };
  } catch (error) {
    throw new ImageDecodeError(`invalid PNG: ${messageOf(error)}`, { cause: error });
  }
}

function decodeJpegImage(bytes: Uint8Array, limits: ImageLimits): DecodedImage {
  try {
    const jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: limits.maxResolutionInMP, maxMemoryUsageInMB: limits.maxMemoryUsageInMB });
    return { format: 'jpeg', width: jpeg.width, height: jpeg.height, data: jpeg.data };
  } catch (error) {
    throw new ImageDecodeError(`invalid JPEG: ${messageOf(error)}`, { cause: error });
  }
}

/** Decodes a PNG or JPEG into RGBA pixels. Throws `ImageDecodeError` for anything else or anything broken. */
export function decodeImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): DecodedImage {
  if (bytes.length > limits.maxBytes) throw new ImageDecodeError(`image of ${bytes.length} bytes exceeds the ${limits.maxBytes}-byte limit`);
  const format = sniffImageFormat(bytes);
  let image: DecodedImage;
  if (format === 'png') image = decodePng(bytes, limits);
  else if (format === 'jpeg') image = decodeJpegImage(bytes, limits);
  else throw new ImageDecodeError(bytes.length === 0 ? 'empty image' : `unsupported image format (leading bytes ${hexPrefix(bytes)})`);
  if (image.width <= 0 || image.height <= 0 || image.data.length < image.width * image.height * 4) throw new ImageDecodeError(`invalid ${format.toUpperCase()}: no pixel data`);
  return image;
}
