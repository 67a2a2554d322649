import type { HandlerTable, HostHandlers } from '../../shared/ipc/contract.js';
import type { Engine } from '../core/engine.js';
import type { AppWindows } from './appWindow.js';
import type { DesktopShell } from './desktopShell.js';
import type { LocalServerController } from './localDropServer.js';

export interface MainHandlerParts {
  engine: Engine;
  desktop: DesktopShell;
  openLink: AppWindows['openLink'];
  localServer: LocalServerController;
  debugLog: Pick<HostHandlers, 'logs/export'>;
  fileSaving: Pick<HostHandlers, 'files/saveAs'>;
}

/** One table for every channel main serves: the engine's, the shell's, links, the local drop server, the log and Save As. */
export function mainHandlerTable({ engine, desktop, openLink, localServer, debugLog, fileSaving }: MainHandlerParts): HandlerTable {
  return {
    ...engine.handlers,
    // The tray's "Pause polling" tick follows a pause the UI asks for.
    'poller/setPaused': async (request) => {
      const answer = await engine.handlers['poller/setPaused'](request);
      desktop.reflectPaused(answer.paused);
      return answer;
    },
    ...desktop.handlers(),
    'links/open': openLink,
    'localServer/status': () => localServer.status(),
    'localServer/start': (request) => localServer.start(request),
    'localServer/stop': () => localServer.stop(),
    ...debugLog,
    ...fileSaving,
  };
}
