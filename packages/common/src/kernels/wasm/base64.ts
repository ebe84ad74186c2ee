/**
 * Base64 → bytes for the generated `*.wasm.ts` modules (scripts/build-wasm.mjs). `atob` exists in
 * Node ≥ 16 and every browser, so this works on both sides without Buffer. Throws
 * (DOMException InvalidCharacterError) on text that is not base64.
 */
export function base64ToBytes(b64: string): Uint8Array {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
