import { useEffect, useRef, useState } from 'react';
import { hasCapability, useSession } from '../stores/sessionStore.js';
import { decodeQrPixels } from './qrDecode.js';

const SCAN_INTERVAL_MS = 250;
const CAMERA_GATE_SECONDS = 120;

/**
 * Live camera preview that reads QR codes. The camera is asked for only when the user opens the
 * scanner and is released as soon as a code is found or the scanner closes.
 */
export function CameraScanner({ onText, onClose }: { onText: (text: string) => void; onClose: () => void }) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [opened, setOpened] = useState(false);

  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: ReturnType<typeof setInterval> | undefined;
    let stopped = false;
    const canvas = document.createElement('canvas');
    const stop = () => {
      stopped = true;
      clearInterval(timer);
      stream?.getTracks().forEach((t) => t.stop());
      closeGate();
    };
    const scan = () => {
      const video = videoRef.current;
      if (!video || video.readyState < 2 || video.videoWidth === 0) return;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      if (!context) return;
      context.drawImage(video, 0, 0);
      const text = decodeQrPixels(context.getImageData(0, 0, canvas.width, canvas.height));
      if (text) {
        stop();
        onText(text);
      }
    };
    // The desktop app opens the camera only while the scanner asks for it.
    const bridge = hasCapability('cameraGate') ? useSession.getState().bridge : null;
    const gate = bridge ? bridge.invoke('camera/allow', { seconds: CAMERA_GATE_SECONDS }) : Promise.resolve(null);
    const closeGate = () => void bridge?.invoke('camera/allow', { seconds: 0 });
    void gate
      .then(() => navigator.mediaDevices?.getUserMedia({ video: { facingMode: 'environment' }, audio: false }))
      .then((media) => {
        if (!media) return;
        if (stopped) {
          media.getTracks().forEach((t) => t.stop());
          return;
        }
        stream = media;
        setOpened(true);
        const video = videoRef.current;
        if (video) {
          video.srcObject = media;
          void video.play();
        }
        timer = setInterval(scan, SCAN_INTERVAL_MS);
      })
      .catch(() => setError('The camera is not available or access was denied.'));
    if (!navigator.mediaDevices) setError('This window has no camera access.');
    return stop;
  }, [onText]);

  return (
    <div className="scanner">
      {error ? (
        <p className="error-text" role="alert">
          {error}
        </p>
      ) : (
        <video ref={videoRef} className="scanner-video" muted playsInline aria-label="Camera preview for scanning a QR code" />
      )}
      {/* Only an opened camera can be closed: before, the button stops the asking; after a refusal it dismisses the message. */}
      <button type="button" onClick={onClose}>
        {error ? 'Dismiss' : opened ? 'Close camera' : 'Cancel'}
      </button>
    </div>
  );
}
