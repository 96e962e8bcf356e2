/**
 * What a member's subscription means against the topics that exist: its named topics that exist,
 * plus every topic its regex matches. The regex is Java-style as clients write it and must match the
 * whole name (Java's `Matcher.matches()`), so it is compiled anchored: `^(?:regex)$`. JavaScript's
 * syntax covers the common Java patterns (classes, alternation, quantifiers, `.*`).
 * The topic map given to the coordinator never holds internal topics, so a regex cannot match them.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';
import type { MemberValue } from './records.js';

/** Longest regex accepted, characters: compiled patterns are cached per shard. */
export const TOPIC_REGEX_CHARS_MAX = 1024;
const COMPILED_CACHE_MAX = 1000;
const compiled = new Map<string, RegExp>();

/** Throws FerryError(INVALID_REQUEST) for a regex that does not compile. */
export function compileTopicRegex(regex: string): RegExp {
  let re = compiled.get(regex);
  if (re) return re;
  if (regex.length > TOPIC_REGEX_CHARS_MAX) {
    throw new FerryError(ErrorCode.INVALID_REQUEST, `subscribed_topic_regex is ${regex.length} characters; at most ${TOPIC_REGEX_CHARS_MAX}`);
  }
  try {
    re = new RegExp(`^(?:${regex})$`);
  } catch (err) {
    throw new FerryError(ErrorCode.INVALID_REQUEST, `subscribed_topic_regex ${JSON.stringify(regex)} does not compile: ${(err as Error).message}`);
  }
  if (compiled.size >= COMPILED_CACHE_MAX) compiled.clear();
  compiled.set(regex, re);
  return re;
}

export function subscribedTopics(sub: MemberValue, topics: ReadonlyMap<string, number>): Set<string> {
  const out = new Set<string>();
  for (const name of sub.topicNames) if (topics.has(name)) out.add(name);
  if (sub.topicRegex) {
    const re = compileTopicRegex(sub.topicRegex);
    for (const name of topics.keys()) if (re.test(name)) out.add(name);
  }
  return out;
}

/** topic → partition count for every existing topic some member subscribes to, keys sorted. */
export function groupTopicMetadata(subs: Iterable<MemberValue>, topics: ReadonlyMap<string, number>): Record<string, number> {
  const names = new Set<string>();
  for (const sub of subs) for (const t of subscribedTopics(sub, topics)) names.add(t);
  const out: Record<string, number> = {};
  for (const t of [...names].sort()) out[t] = topics.get(t)!;
  return out;
}

export function sameTopicMetadata(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
