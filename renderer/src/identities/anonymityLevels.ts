/** "Share my drop with strangers": the anonymity setting of PROTOCOL.md section 1, in user terms. */
export interface AnonymityLevel {
  id: 'none' | 'some' | 'many';
  label: string;
  /** Random bits of the drop ID. */
  dropBits: number;
  explanation: string;
}

export const anonymityLevels: AnonymityLevel[] = [
  {
    id: 'none',
    label: 'None',
    dropBits: 256,
    explanation: 'Your drop is yours alone: the least traffic, but the server can tell your drop apart from everyone else’s.',
  },
  {
    id: 'some',
    label: 'Some',
    dropBits: 16,
    explanation: 'Your drop is one of 65,536 possible drops, which you may share with a few strangers, at a little extra traffic.',
  },
  {
    id: 'many',
    label: 'Many',
    dropBits: 8,
    explanation: 'Your drop is one of only 256, shared with many strangers: more downloading and decrypting, and the most deniability.',
  },
];

export function levelForBits(bits: number): AnonymityLevel {
  return anonymityLevels.find((l) => l.dropBits === bits) ?? anonymityLevels[0]!;
}
