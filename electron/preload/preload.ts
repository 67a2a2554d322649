/**
 * Preload of the main window (sandboxed, context-isolated): exposes named functions only.
 * `ipcRenderer` itself never reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { buildPreloadApi } from './preloadApi.js';

contextBridge.exposeInMainWorld('deaddrop', buildPreloadApi(ipcRenderer));
