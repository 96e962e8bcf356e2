/**
 * Topic name rules, as Kafka's: 1–249 characters of [a-zA-Z0-9._-], not "." or "..". Names starting
 * with "__" are reserved for Ferry's internal topics (e.g. __consumer_offsets).
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';

export const TOPIC_NAME_MAX_CHARS = 249;
const LEGAL_CHARS = /^[a-zA-Z0-9._-]+$/;
export const INTERNAL_TOPIC_PREFIX = '__';

export function isInternalTopic(name: string): boolean {
  return name.startsWith(INTERNAL_TOPIC_PREFIX);
}

/** Throws FerryError(INVALID_TOPIC) explaining what is wrong with `name`. */
export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new FerryError(ErrorCode.INVALID_TOPIC, 'topic name is empty');
  if (name.length > TOPIC_NAME_MAX_CHARS) {
    throw new FerryError(ErrorCode.INVALID_TOPIC, `topic name is ${name.length} characters; at most ${TOPIC_NAME_MAX_CHARS} allowed`);
  }
  if (name === '.' || name === '..') throw new FerryError(ErrorCode.INVALID_TOPIC, `topic name cannot be "${name}"`);
  if (!LEGAL_CHARS.test(name)) {
    throw new FerryError(ErrorCode.INVALID_TOPIC, `topic name ${JSON.stringify(name)} has characters outside [a-zA-Z0-9._-]`);
  }
}

/** For user-created topics: valid and not in the reserved internal namespace. */
export function validateUserTopicName(name: string): void {
  validateTopicName(name);
  if (isInternalTopic(name)) {
    throw new FerryError(ErrorCode.INVALID_TOPIC, `topic names starting with "${INTERNAL_TOPIC_PREFIX}" are reserved for internal topics`);
  }
}
