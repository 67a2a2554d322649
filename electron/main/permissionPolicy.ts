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
}

interface PermissionAsk {
  permission: string;
  /** URL or origin of the frame asking. */
  origin: string;
  isMainFrame: boolean;
  mediaTypes: readonly string[];
}

/**
 * Everything is denied except the camera (video only, no microphone), asked by our own main frame,
 * while the camera gate is open.
 */
export function isPermissionAllowed(ask: PermissionAsk, context: PermissionContext): boolean {
  if (ask.permission !== 'media') return false;
  if (!ask.isMainFrame || !context.isAppUrl(ask.origin)) return false;
  if (ask.mediaTypes.length === 0 || ask.mediaTypes.some((type) => type !== 'video')) return false;
  return context.camera.isOpen();
}

export function installPermissionPolicy(session: PermissionSession, context: PermissionContext): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const mediaTypes = 'mediaTypes' in details && Array.isArray(details.mediaTypes) ? details.mediaTypes : [];
    callback(
      isPermissionAllowed(
        { permission, origin: details.requestingUrl ?? '', isMainFrame: details.isMainFrame, mediaTypes },
        context,
      ),
    );
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
