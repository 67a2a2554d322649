import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App.js';
import { startEngineSync } from './app/engineSync.js';
import { selectBridge } from './bridge/selectBridge.js';
import { database } from './db/database.js';
import './styles/app.css';

const bridge = selectBridge(window);
if (bridge) startEngineSync(bridge, database());

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App hasBridge={bridge !== null} />
    </StrictMode>,
  );
}
