/**
 * The `drop_payload_type`s this app knows (PROTOCOL.md section 4 and README "What our clients send").
 * Kept apart from the modules so that the envelope code and every module can name them without
 * importing each other.
 */
export const BOX_MESSAGE = 'box_message';
export const BOX_SHARE_NOTIFICATION = 'box_share_notification';
export const BOX_ACK = 'box_ack';
export const BOX_CONTACT_UPDATE = 'box_contact_update';
export const BOX_MICROBLOG = 'box_microblog';
