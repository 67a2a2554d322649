/**
 * The link screen of a new device sends the user to a section of Settings on the other device: it
 * must name that section as its heading reads ("Devices of <name>"), not "Settings → Devices".
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { describe, expect, it } from 'vitest';
import { LinkExistingDeviceForm } from '../devices/LinkExistingDeviceForm.js';

describe('link screen wording', () => {
  it('names the Devices section as its heading reads', () => {
    const host = document.createElement('div');
    document.body.append(host);
    const root = createRoot(host);
    flushSync(() => root.render(createElement(LinkExistingDeviceForm, { onLinked: () => undefined })));
    const hint = host.querySelector('.hint')!.textContent!;
    expect(hint).toContain('open Settings, find “Devices of” and its name, and choose “Link a new device”');
    expect(hint).not.toContain('Settings → Devices');
    root.unmount();
    host.remove();
  });
});
