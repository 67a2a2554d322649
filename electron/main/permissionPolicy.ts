import type { Session } from 'electron';
import type { CameraGate } from './cameraGate.js';

/** The parts of a Session the policy installs itself on. */
export type PermissionSession = Pick<
  Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'
>;

export interface PermissionContext {
  isAppUrl(url: string): boolean;
  camera: CameraGate;
  /**
   * Asks the user (a native dialog) when our UI wants the camera without having opened the gate
   * first: the click on "Allow" is then the user action. Absent: such requests are denied.
   */
  confirmCamera?: () => Promise<boolean>;
}

interface PermissionAsk {
  permission: string;
  /** URL or origin of the frame asking. */
  origin: string;
  isMainFrame: boolean;
  mediaTypes: readonly string[];
}

/**
 * Everything is denied except, for our own main frame: the camera (video only, no microphone) while
 * the camera gate is open, and writing to the clipboard (the contact card's Copy button; Chromium
 * still demands a user gesture for it). Reading the clipboard stays denied.
 */
export function isPermissionAllowed(ask: PermissionAsk, context: PermissionContext): boolean {
  if (ask.permission === 'clipboard-sanitized-write') return ask.isMainFrame && context.isAppUrl(ask.origin);
  return isOwnCameraAsk(ask, context) && context.camera.isOpen();
}

function isOwnCameraAsk(ask: PermissionAsk, context: PermissionContext): boolean {
  if (ask.permission !== 'media') return false;
  if (!ask.isMainFrame || !context.isAppUrl(ask.origin)) return false;
  return ask.mediaTypes.length > 0 && ask.mediaTypes.every((type) => type === 'video');
}

/** A request may also pass by asking the user, for our own camera asks only. */
async function decideRequest(ask: PermissionAsk, context: PermissionContext): Promise<boolean> {
  if (isPermissionAllowed(ask, context)) return true;
  if (!context.confirmCamera || !isOwnCameraAsk(ask, context)) return false;
  try {
    return await context.confirmCamera();
  } catch {
    return false;
  }
}

export function installPermissionPolicy(session: PermissionSession, context: PermissionContext): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const mediaTypes = 'mediaTypes' in details && Array.isArray(details.mediaTypes) ? details.mediaTypes : [];
    const ask = { permission, origin: details.requestingUrl ?? '', isMainFrame: details.isMainFrame, mediaTypes };
    void decideRequest(ask, context).then(callback);
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) => {
    const mediaTypes = details.mediaType ? [details.mediaType] : [];
    return isPermissionAllowed(
      { permission, origin: details.securityOrigin ?? requestingOrigin, isMainFrame: details.isMainFrame, mediaTypes },
      context,
    );
  });
  session.setDevicePermissionHandler(() => false);
}
