/**
 * TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps) through otplib 13, enrolment by QR
 * code (qrcode). Verification accepts the previous, current and next step (±30 s of
 * clock drift, RFC 6238 §5.2) and returns the step it matched, so the caller can refuse
 * a code whose step is not later than the last accepted one (§5.2: "the verifier MUST
 * NOT accept the second attempt of the same OTP").
 */
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

export const TOTP_PERIOD_S = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** otpauth:// URI and a PNG data: URL of its QR code, for authenticator apps. */
export async function totpEnrolment(
  secret: string,
  issuer: string,
  account: string,
): Promise<{ uri: string; qrDataUrl: string }> {
  const uri = generateURI({ issuer, label: account, secret });
  const qrDataUrl = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 1, width: 240 });
  return { uri, qrDataUrl };
}

/**
 * The RFC 6238 time step a 6-digit code matches at `nowMs` (±1 step), or null. Codes
 * that are not exactly 6 digits are refused before any HMAC.
 */
export async function matchTotp(secret: string, code: string, nowMs: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(nowMs / 1000),
      epochTolerance: TOTP_PERIOD_S,
    });
    // The TOTP branch of the result carries the matched step; derive it otherwise.
    if (!result.valid) return null;
    const step = (result as { timeStep?: number }).timeStep;
    const delta = (result as { delta?: number }).delta ?? 0;
    return step ?? Math.floor(nowMs / 1000 / TOTP_PERIOD_S) + delta;
  } catch {
    return null;
  }
}
