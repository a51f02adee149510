/**
 * Byte helpers shared by the HTTP edge, the router and the bus.
 * @module
 */

/** The first `size` bytes of `pieces` joined into one array (the one piece itself when there is one). */
export function concatBytes(pieces: readonly Uint8Array[], size: number): Uint8Array {
  if (pieces.length === 1 && pieces[0]!.length === size) return pieces[0]!;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
}
