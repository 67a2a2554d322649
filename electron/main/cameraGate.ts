/**
 * Camera access exists only while the QR scanner is open: the UI opens the gate for a few seconds
 * when the user starts the scanner (and closes it when the scanner closes); permission requests and
 * checks outside that window are denied.
 */
export interface CameraGate {
  /** Opens the gate for `seconds` (clamped to 1..MAX_CAMERA_SECONDS); 0 closes it. Returns the deadline. */
  allowFor(seconds: number): number;
  isOpen(): boolean;
  close(): void;
}

export const MAX_CAMERA_SECONDS = 300;

export function createCameraGate(now: () => number = Date.now): CameraGate {
  let openUntil = 0;
  return {
    allowFor(seconds) {
      if (!Number.isFinite(seconds) || seconds <= 0) {
        openUntil = 0;
        return 0;
      }
      openUntil = now() + Math.min(Math.ceil(seconds), MAX_CAMERA_SECONDS) * 1000;
      return openUntil;
    },
    isOpen: () => now() < openUntil,
    close() {
      openUntil = 0;
    },
  };
}
