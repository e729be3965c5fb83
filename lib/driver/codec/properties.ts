import type { AllProperties, UserProperty } from './packets.js';
import { malformed, protocolError, type Reader } from './reader.js';
import {
  binaryLength,
  checkU16,
  checkU32,
  encodeError,
  stringLength,
  variableByteIntegerLength,
  type Writer,
} from './writer.js';

/** Where a property list appears; each context allows a subset of properties (section 2.2.2.2). */
export type PropertyContext =
  | 'connect'
  | 'will'
  | 'connack'
  | 'publish'
  | 'ack'
  | 'subscribe'
  | 'unsubscribe'
  | 'disconnect'
  | 'auth';

type Kind = 'byte' | 'bool' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';
type Key = keyof AllProperties;

interface PropertyDef {
  id: number;
  key: Key;
  kind: Kind;
  /** Extra value rule; returns a message when the value is a Protocol Error. */
  check?: (v: number) => string | undefined;
  contexts: readonly PropertyContext[];
}

const nonZero = (v: number) => (v === 0 ? 'must not be 0' : undefined);
const zeroOrOne = (v: number) => (v > 1 ? 'must be 0 or 1' : undefined);
const ACKS_AND_MORE: readonly PropertyContext[] = ['connack', 'ack', 'disconnect', 'auth'];
const MESSAGE: readonly PropertyContext[] = ['publish', 'will'];

/** MQTT 5 property table (section 2.2.2.2, Table 2-4). */
export const PROPERTY_DEFS: readonly PropertyDef[] = [
  { id: 0x01, key: 'payloadFormatIndicator', kind: 'byte', check: zeroOrOne, contexts: MESSAGE },
  { id: 0x02, key: 'messageExpiryInterval', kind: 'u32', contexts: MESSAGE },
  { id: 0x03, key: 'contentType', kind: 'string', contexts: MESSAGE },
  { id: 0x08, key: 'responseTopic', kind: 'string', contexts: MESSAGE },
  { id: 0x09, key: 'correlationData', kind: 'binary', contexts: MESSAGE },
  { id: 0x0b, key: 'subscriptionIdentifier', kind: 'varint', check: nonZero, contexts: ['publish', 'subscribe'] },
  { id: 0x11, key: 'sessionExpiryInterval', kind: 'u32', contexts: ['connect', 'connack', 'disconnect'] },
  { id: 0x12, key: 'assignedClientIdentifier', kind: 'string', contexts: ['connack'] },
  { id: 0x13, key: 'serverKeepAlive', kind: 'u16', contexts: ['connack'] },
  { id: 0x15, key: 'authenticationMethod', kind: 'string', contexts: ['connect', 'connack', 'auth'] },
  { id: 0x16, key: 'authenticationData', kind: 'binary', contexts: ['connect', 'connack', 'auth'] },
  { id: 0x17, key: 'requestProblemInformation', kind: 'bool', contexts: ['connect'] },
  { id: 0x18, key: 'willDelayInterval', kind: 'u32', contexts: ['will'] },
  { id: 0x19, key: 'requestResponseInformation', kind: 'bool', contexts: ['connect'] },
  { id: 0x1a, key: 'responseInformation', kind: 'string', contexts: ['connack'] },
  { id: 0x1c, key: 'serverReference', kind: 'string', contexts: ['connack', 'disconnect'] },
  { id: 0x1f, key: 'reasonString', kind: 'string', contexts: ACKS_AND_MORE },
  { id: 0x21, key: 'receiveMaximum', kind: 'u16', check: nonZero, contexts: ['connect', 'connack'] },
  { id: 0x22, key: 'topicAliasMaximum', kind: 'u16', contexts: ['connect', 'connack'] },
  { id: 0x23, key: 'topicAlias', kind: 'u16', check: nonZero, contexts: ['publish'] },
  { id: 0x24, key: 'maximumQoS', kind: 'byte', check: zeroOrOne, contexts: ['connack'] },
  { id: 0x25, key: 'retainAvailable', kind: 'bool', contexts: ['connack'] },
  {
    id: 0x26,
    key: 'userProperties',
    kind: 'pair',
    contexts: ['connect', 'will', 'connack', 'publish', 'ack', 'subscribe', 'unsubscribe', 'disconnect', 'auth'],
  },
  { id: 0x27, key: 'maximumPacketSize', kind: 'u32', check: nonZero, contexts: ['connect', 'connack'] },
  { id: 0x28, key: 'wildcardSubscriptionAvailable', kind: 'bool', contexts: ['connack'] },
  { id: 0x29, key: 'subscriptionIdentifierAvailable', kind: 'bool', contexts: ['connack'] },
  { id: 0x2a, key: 'sharedSubscriptionAvailable', kind: 'bool', contexts: ['connack'] },
];

const BY_ID: (PropertyDef | undefined)[] = [];
for (const def of PROPERTY_DEFS) BY_ID[def.id] = def;
const BY_CONTEXT = new Map<PropertyContext, PropertyDef[]>();
for (const def of PROPERTY_DEFS) {
  for (const c of def.contexts) {
    const list = BY_CONTEXT.get(c) ?? [];
    list.push(def);
    BY_CONTEXT.set(c, list);
  }
}

function readValue(r: Reader, def: PropertyDef): unknown {
  switch (def.kind) {
    case 'byte':
      return r.u8(def.key);
    case 'bool': {
      const b = r.u8(def.key);
      if (b > 1) protocolError(`property ${def.key} must be 0 or 1, got ${b}`);
      return b === 1;
    }
    case 'u16':
      return r.u16(def.key);
    case 'u32':
      return r.u32(def.key);
    case 'varint':
      return r.varint(def.key);
    case 'string':
      return r.string(def.key);
    case 'binary':
      return r.binary(def.key);
    default:
      return [r.string('user property name'), r.string('user property value')];
  }
}

/**
 * Reads a property list (length + properties) for `context`. Returns undefined when it is empty.
 * Unknown or misplaced identifiers are Malformed Packet; repeats of single-valued ones are Protocol Error.
 */
export function readProperties(r: Reader, context: PropertyContext): Record<string, unknown> | undefined {
  const length = r.varint('property length');
  if (length === 0) return undefined;
  if (length > r.remaining()) malformed('property length exceeds the packet');
  const end = r.pos + length;
  const outerEnd = r.end;
  r.end = end;
  const props: Record<string, unknown> = {};
  while (r.pos < end) {
    const id = r.varint('property identifier');
    const def = BY_ID[id];
    if (def === undefined) malformed(`unknown property identifier 0x${id.toString(16)}`);
    if (!def.contexts.includes(context)) malformed(`property ${def.key} is not allowed in ${context}`);
    const value = readValue(r, def);
    if (def.check !== undefined) {
      const problem = def.check(value as number);
      if (problem !== undefined) protocolError(`property ${def.key} ${problem}`);
    }
    if (def.kind === 'pair') {
      const list = props.userProperties as UserProperty[] | undefined;
      if (list) list.push(value as UserProperty);
      else props.userProperties = [value];
    } else if (def.key === 'subscriptionIdentifier' && context === 'publish') {
      const list = props.subscriptionIdentifier as number[] | undefined;
      if (list) list.push(value as number);
      else props.subscriptionIdentifier = [value];
    } else {
      if (props[def.key] !== undefined) protocolError(`property ${def.key} appears more than once`);
      props[def.key] = value;
    }
  }
  r.end = outerEnd;
  return props;
}

function valueLength(def: PropertyDef, v: unknown): number {
  switch (def.kind) {
    case 'byte':
    case 'bool':
      return 1;
    case 'u16':
      return 2;
    case 'u32':
      return 4;
    case 'varint':
      return variableByteIntegerLength(v as number);
    case 'string':
      return stringLength(v as string);
    case 'binary':
      return binaryLength(v as Uint8Array);
    default:
      return stringLength((v as UserProperty)[0]) + stringLength((v as UserProperty)[1]);
  }
}

function checkValue(def: PropertyDef, v: unknown): void {
  if (def.kind === 'byte' || def.kind === 'u16' || def.kind === 'u32' || def.kind === 'varint') {
    const n = v as number;
    if (def.kind === 'byte' && !(Number.isInteger(n) && n >= 0 && n <= 1)) encodeError(`${def.key} must be 0 or 1`);
    if (def.kind === 'u16') checkU16(n, def.key);
    if (def.kind === 'u32') checkU32(n, def.key);
    if (def.check?.(n) !== undefined) encodeError(`${def.key} ${def.check(n)}`);
  }
}

/** Calls `fn` for each (definition, single value) pair to encode, in table order. */
function forEachValue(
  props: AllProperties,
  context: PropertyContext,
  fn: (def: PropertyDef, value: unknown) => void,
): void {
  for (const def of BY_CONTEXT.get(context) as PropertyDef[]) {
    const v = props[def.key];
    if (v === undefined) continue;
    if (Array.isArray(v) && (def.kind === 'pair' || def.kind === 'varint')) {
      if (def.kind === 'varint' && context === 'subscribe') encodeError('SUBSCRIBE takes one subscriptionIdentifier');
      for (const item of v) fn(def, item);
    } else fn(def, v);
  }
}

/** Size of the property list body (without its own length prefix). Properties not allowed here are ignored. */
export function propertiesLength(props: AllProperties | undefined, context: PropertyContext): number {
  if (props === undefined) return 0;
  let n = 0;
  forEachValue(props, context, (def, v) => {
    checkValue(def, v);
    n += 1 + valueLength(def, v);
  });
  return n;
}

/** Writes the property list body whose size `propertiesLength` returned. */
export function writeProperties(w: Writer, props: AllProperties | undefined, context: PropertyContext): void {
  if (props === undefined) return;
  forEachValue(props, context, (def, v) => {
    w.u8(def.id);
    switch (def.kind) {
      case 'byte':
        w.u8(v as number);
        break;
      case 'bool':
        w.u8(v ? 1 : 0);
        break;
      case 'u16':
        w.u16(v as number);
        break;
      case 'u32':
        w.u32(v as number);
        break;
      case 'varint':
        w.varint(v as number);
        break;
      case 'string':
        w.string(v as string, stringLength(v as string) - 2);
        break;
      case 'binary':
        w.binary(v as Uint8Array);
        break;
      default: {
        const [name, value] = v as UserProperty;
        w.string(name, stringLength(name) - 2);
        w.string(value, stringLength(value) - 2);
      }
    }
  });
}
