import { MqttAsyncConfigError } from '../errors.js';
import type { AsyncApiPayload, JsonSchema } from './decorators.js';

const REF_PREFIX = '#/components/schemas/';

// Module names in variables: optional peer dependencies, loaded only when a document is generated.
const CLASS_VALIDATOR_JSONSCHEMA: string = 'class-validator-jsonschema';
const CLASS_TRANSFORMER_STORAGE: string = 'class-transformer/cjs/storage.js';

type ClassSchemas = Record<string, JsonSchema>;

/**
 * Loads the JSON Schemas of every class-validator DTO through `class-validator-jsonschema` (an optional peer
 * dependency). Returns undefined when it is not installed.
 */
export async function loadClassSchemas(): Promise<ClassSchemas | undefined> {
  let mod: { validationMetadatasToSchemas(options?: object): ClassSchemas };
  try {
    mod = (await import(CLASS_VALIDATOR_JSONSCHEMA)) as typeof mod;
  } catch {
    return undefined;
  }
  let classTransformerMetadataStorage: unknown;
  try {
    // Lets @Type(() => Nested) produce nested $refs; absent class-transformer simply means fewer details.
    const storage = (await import(CLASS_TRANSFORMER_STORAGE)) as { defaultMetadataStorage?: unknown };
    classTransformerMetadataStorage = storage.defaultMetadataStorage;
  } catch {
    classTransformerMetadataStorage = undefined;
  }
  return mod.validationMetadatasToSchemas({
    refPointerPrefix: REF_PREFIX,
    ...(classTransformerMetadataStorage ? { classTransformerMetadataStorage } : {}),
  });
}

const PRIMITIVES = new Map<unknown, JsonSchema>([
  [Number, { type: 'number' }],
  [String, { type: 'string' }],
  [Boolean, { type: 'boolean' }],
  [Array, { type: 'array' }],
  [Buffer, { type: 'string', format: 'binary' }],
  [Uint8Array, { type: 'string', format: 'binary' }],
]);

/** Turns payload types into JSON Schemas and collects the DTO schemas the document references. */
export class SchemaCollector {
  /** `components.schemas` of the document. */
  readonly used: Record<string, JsonSchema> = {};

  constructor(private readonly classSchemas: ClassSchemas | undefined) {}

  /** JSON Schema for a payload type; `{}` (anything) when the type is unknown. */
  schemaFor(type: AsyncApiPayload | undefined): JsonSchema {
    if (type === undefined || type === Object || type === Promise) return {};
    const primitive = PRIMITIVES.get(type);
    if (primitive) return { ...primitive };
    if (typeof type !== 'function') return type;
    const name = type.name;
    if (name === 'Observable') return {};
    if (!this.classSchemas) {
      throw new MqttAsyncConfigError(
        `AsyncAPI: '${name}' is a class payload; install class-validator-jsonschema (npm install class-validator-jsonschema) to describe it`,
      );
    }
    if (!this.classSchemas[name]) return { type: 'object', title: name };
    this.use(name);
    return { $ref: `${REF_PREFIX}${name}` };
  }

  private use(name: string): void {
    const schema = this.classSchemas?.[name];
    if (!schema || this.used[name]) return;
    this.used[name] = { title: name, ...schema };
    for (const ref of refsIn(schema)) this.use(ref);
  }
}

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) refsIn(item, found);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string' && item.startsWith(REF_PREFIX)) {
        found.push(item.slice(REF_PREFIX.length));
      } else {
        refsIn(item, found);
      }
    }
  }
  return found;
}
