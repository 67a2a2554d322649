/**
 * What each secret of the engine's state is sealed under with the data key (dataKey.ts): the context
 * (AAD) binds a sealed value to what it is and whose it is, so one cannot be passed off as another.
 * These strings are part of every state file written: changing one makes what was sealed under it
 * unreadable.
 */
import type { StoredIdentity } from './stateSchema.js';

/** The purpose the UI database's key is derived under (never stored: derived at each unlock). */
export const DATABASE_KEY_PURPOSE = 'deaddrop ui database key v1';

/** An identity's private key, and the keys it retired (identity rotation). */
export const identityContext = (id: string, publicKey: string) => `deaddrop identity ${id} ${publicKey}`;
/** The tickets a contact handed an identity for one of the contact's drops. */
export const walletContext = (id: string, contactKey: string, dropUrl: string) => `deaddrop tickets ${id} ${contactKey} ${dropUrl}`;
/** A QR prekey's private key. */
export const prekeyContext = (id: string, publicKey: string) => `deaddrop qr prekey ${id} ${publicKey}`;
/** A version-1 session state, bound to the identity's session epoch (a restored identity starts a new one). */
export const sessionContext = (identity: StoredIdentity, sessionId: string) =>
  `deaddrop v1 session ${identity.id} ${identity.contextKey ?? identity.publicKey} ${identity.sessionEpoch} ${sessionId}`;
