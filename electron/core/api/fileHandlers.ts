/** The engine's `files/*` channels (the desktop shell serves `files/saveAs`). */
import type { ApiHandlers } from '../../../shared/ipc/contract.js';
import type { EngineContext } from '../engine.js';

type FileChannel = 'files/stageBegin' | 'files/stageChunk' | 'files/stageDiscard' | 'files/send' | 'files/upload' | 'files/download' | 'files/read' | 'files/discard';

export function fileHandlers(parts: EngineContext, requireUnlocked: () => void): Pick<ApiHandlers, FileChannel> {
  const { files } = parts;
  return {
    'files/stageBegin': async (request) => {
      requireUnlocked();
      return files.stageBegin(request);
    },
    'files/stageChunk': async (request) => {
      requireUnlocked();
      return files.stageChunk(request);
    },
    'files/stageDiscard': async (request) => {
      requireUnlocked();
      return files.stageDiscard(request);
    },
    'files/send': async (request) => {
      requireUnlocked();
      return files.send(request);
    },
    'files/upload': async (request) => {
      requireUnlocked();
      return files.upload(request);
    },
    'files/download': async (request) => {
      requireUnlocked();
      return files.download(request);
    },
    'files/read': async (request) => {
      requireUnlocked();
      return files.read(request);
    },
    'files/discard': async (request) => {
      requireUnlocked();
      return files.discard(request);
    },
  };
}
