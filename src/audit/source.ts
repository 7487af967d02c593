/**
 * Positioned reads over content, so parsers need not know whether the bytes
 * come from a file or from a Buffer in a test.
 */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer at the end of the content). */
  read(offset: number, length: number): Promise<Buffer>;
}

export function bufferSource(data: Buffer): ByteSource {
  return {
    size: data.length,
    read: (offset, length) => Promise.resolve(data.subarray(Math.max(0, offset), Math.max(0, Math.min(data.length, offset + length)))),
  };
}
