/**
 * Impersonation by name: a stranger calls themselves "Alice" (or "Аlice" with a Cyrillic А, or
 * "Ａｌｉｃｅ" in full width) to pass for a contact. Names are compared by how they look, and a
 * look-alike with another key is named as such.
 */
import { remove as foldLookalikeLetters } from 'confusables';
import { UNSAFE_CHARACTER } from '../../../shared/text/untrustedText.js';

const INVISIBLE = new RegExp(UNSAFE_CHARACTER.source, 'gu');

/** How a name looks: width, case, accents, look-alike letters of other scripts and invisible characters folded away. */
export function nameSkeleton(name: string): string {
  const plain = name.replace(INVISIBLE, '').normalize('NFKC');
  return foldLookalikeLetters(plain).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

export interface KnownName {
  name: string;
  publicKey: string;
  kind: 'contact' | 'identity';
}

/** The contact or identity whose name `alias` looks like while its key differs, if any. */
export function lookalikeOf(alias: string, publicKey: string, known: readonly KnownName[]): KnownName | null {
  const skeleton = nameSkeleton(alias);
  if (skeleton === '') return null;
  return known.find((k) => k.publicKey !== publicKey && nameSkeleton(k.name) === skeleton) ?? null;
}

export interface Namesake {
  alias: string;
  publicKey: string;
  status: string;
  createdAt: number;
}

/**
 * The contact that had this look of a name first, when `contact` came later with another key: after
 * a stranger called "Bob" is accepted next to the Bob already there, the two chats differ only by
 * their avatars. The newer one carries a note naming the older until it is verified or either is
 * renamed apart. Only contacts in the list count (accepted or verified), not requests.
 */
export function olderNamesake<T extends Namesake>(contact: Namesake, contacts: readonly T[]): T | null {
  if (contact.status !== 'accepted') return null;
  const skeleton = nameSkeleton(contact.alias);
  if (skeleton === '') return null;
  const older = (other: Namesake) =>
    other.createdAt < contact.createdAt || (other.createdAt === contact.createdAt && other.publicKey < contact.publicKey);
  return (
    contacts.find(
      (other) =>
        other.publicKey !== contact.publicKey &&
        (other.status === 'accepted' || other.status === 'verified') &&
        older(other) &&
        nameSkeleton(other.alias) === skeleton,
    ) ?? null
  );
}
