import { useEffect } from 'react';
import { DesktopSync } from '../desktop/DesktopSync.js';
import { LockGuard } from '../screens/LockGuard.js';
import { OnboardingScreen } from '../screens/OnboardingScreen.js';
import { UnlockScreen } from '../screens/UnlockScreen.js';
import { useUiSettings } from '../settings/uiSettings.js';
import { useSession } from '../stores/sessionStore.js';
import { NoticeArea } from './NoticeArea.js';
import { Shell } from './Shell.js';

/** Chooses the screen from the engine's state: no engine, locked, first run, or the messenger. */
export function App({ hasBridge }: { hasBridge: boolean }) {
  const appInfo = useSession((s) => s.appInfo);
  const identities = useSession((s) => s.identities);
  const { theme } = useUiSettings();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  let screen;
  // The messenger shows notices in its content pane (Shell); other screens float them.
  let shell = false;
  if (!hasBridge) {
    screen = (
      <CenteredMessage title="No engine">
        This window is not connected to a Deaddrop engine. Open it from the desktop app, or run
        <code> npm run web -- --profile NAME </code> and open the address it prints (it ends in
        <code> ?host=ws://127.0.0.1:PORT/ws</code>).
      </CenteredMessage>
    );
  } else if (!appInfo) {
    screen = <CenteredMessage title="Starting">Connecting to the engine…</CenteredMessage>;
  } else if (appInfo.locked) {
    screen = <UnlockScreen />;
  } else if (identities === null) {
    screen = <CenteredMessage title="Starting">Loading your identities…</CenteredMessage>;
  } else if (identities.length === 0) {
    screen = <OnboardingScreen />;
  } else {
    shell = true;
    screen = (
      <>
        <Shell />
        <DesktopSync />
      </>
    );
  }
  return (
    <>
      {screen}
      {hasBridge && <LockGuard />}
      {!shell && <NoticeArea placement="floating" />}
    </>
  );
}

function CenteredMessage({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="centered" aria-busy={title === 'Starting'}>
      <div className="card narrow">
        <h1>{title}</h1>
        <p>{children}</p>
      </div>
    </main>
  );
}
