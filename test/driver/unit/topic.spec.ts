import { describe, expect, it } from '@jest/globals';
import { MqttInvalidTopicError } from '../../../lib/driver/errors.js';
import {
  hasWildcard,
  parseSharedFilter,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from '../../../lib/driver/topic.js';

describe('topicMatches (MQTT 5 section 4.7)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a//c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/+', 'a/b/c', false],
    ['+', 'a', true],
    ['+', '', true],
    ['+', '/a', false],
    ['+/+', '/a', true],
    ['/+', '/a', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['a/#', 'a', true],
    ['a/#', 'a/', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['a/#', 'b/a', false],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['#', '$SYS/broker', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
    ['$SYS/+', '$SYS/broker', true],
    ['$share/g/a/+', 'a/b', true],
    ['$share/g/#', '$SYS/x', false],
    ['$queue/a/+', 'a/b', true],
    ['$queue/a/+', '$queue/a/b', false],
    ['a/b/+/#', 'a/b/c', true],
    ['a/b/+/#', 'a/b', false],
  ];
  it.each(cases)('%s vs %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('validateTopicName', () => {
  it('accepts ordinary names, including empty levels and $ topics', () => {
    for (const t of ['a', 'a/b', '/a', 'a/', '$SYS/x', 'ünïcödé/☃']) expect(() => validateTopicName(t)).not.toThrow();
  });
  it.each(['', 'a/+', 'a/#', '#', 'a\u0000b'])('rejects %j before any I/O', (t) => {
    expect(() => validateTopicName(t)).toThrow(MqttInvalidTopicError);
  });
  it('rejects names over 65,535 UTF-8 bytes', () => {
    expect(() => validateTopicName('é'.repeat(40_000))).toThrow(/65535 bytes/);
    expect(() => validateTopicName('a'.repeat(65_535))).not.toThrow();
  });
});

describe('validateTopicFilter', () => {
  it.each(['a', '#', '+', 'a/+/b', 'a/#', '+/+/#', '$share/g/a/#', '$share/g/+'])('accepts %s', (f) => {
    expect(() => validateTopicFilter(f)).not.toThrow();
  });
  it.each(['', 'a/#/b', 'a#', 'a/b#', 'a+', 'a/+b', '$share/g', '$share//a', '$share/g+/a', '$share/g/a#'])(
    'rejects %j',
    (f) => {
      expect(() => validateTopicFilter(f)).toThrow(MqttInvalidTopicError);
    },
  );
});

describe('parseSharedFilter / hasWildcard', () => {
  it('splits shared filters and leaves plain ones alone', () => {
    expect(parseSharedFilter('$share/pool/jobs/#')).toEqual({ group: 'pool', filter: 'jobs/#' });
    expect(parseSharedFilter('jobs/#')).toEqual({ filter: 'jobs/#' });
    expect(parseSharedFilter('$queue/jobs/#')).toEqual({ group: '$queue', filter: 'jobs/#' });
    expect(hasWildcard('$share/pool/jobs/x')).toBe(false);
    expect(hasWildcard('$share/pool/jobs/+')).toBe(true);
  });
});
