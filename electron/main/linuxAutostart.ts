import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/state/atomicFile.js';

/** Electron's login items exist on macOS and Windows only; Linux desktops read XDG autostart entries. */
export interface AutostartTarget {
  /** `$XDG_CONFIG_HOME` or `~/.config`. */
  configHome: string;
  profile: string;
  /** The command that starts this app (the AppImage, the installed binary, or electron plus the app path). */
  command: readonly string[];
}

export function autostartFile(target: AutostartTarget): string {
  return path.join(target.configHome, 'autostart', `deaddrop-${target.profile}.desktop`);
}

/** Quotes one argument for a desktop entry's Exec key (freedesktop "Exec" rules). */
function execArgument(arg: string): string {
  if (/^[-\w./=:@+]+$/.test(arg)) return arg;
  return `"${arg.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}

export function autostartEntry(target: AutostartTarget): string {
  const exec = [...target.command, '--profile', target.profile].map(execArgument).join(' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    `Name=Deaddrop (${target.profile})`,
    'Comment=Anonymous end-to-end encrypted messages',
    `Exec=${exec}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** Adds or removes this profile's autostart entry. */
export async function setLinuxAutostart(target: AutostartTarget, enabled: boolean): Promise<void> {
  const file = autostartFile(target);
  if (enabled) await writeFileAtomic(file, autostartEntry(target));
  else await fs.rm(file, { force: true });
}
