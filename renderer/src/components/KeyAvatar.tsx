import { keyAvatarPattern } from './keyAvatarPattern.js';

/** A contact's picture, drawn from its public key (see `keyAvatarPattern`); decorative: the name is beside it. */
export function KeyAvatar({ publicKey, size = 36 }: { publicKey: string; size?: number }) {
  const { cells, foreground, background } = keyAvatarPattern(publicKey);
  return (
    <svg className="key-avatar" width={size} height={size} viewBox="-1 -1 7 7" aria-hidden="true" data-testid="key-avatar">
      <rect x="-1" y="-1" width="7" height="7" rx="1.4" fill={background} />
      {cells.map((filled, i) => (filled ? <rect key={i} x={i % 5} y={Math.floor(i / 5)} width="1" height="1" fill={foreground} /> : null))}
    </svg>
  );
}
