import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { codecValueNames, importsOf, layeringViolations, libFiles } from './imports.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: object };
const PEERS = new Set(Object.keys(pkg.peerDependencies));

describe('layering of lib/ (docs/architecture.md, "Layers")', () => {
  const codec = codecValueNames(ROOT);

  it('knows the codec by its functions and classes', () => {
    expect([...codec]).toEqual(expect.arrayContaining(['encodePacket', 'PacketDecoder', 'publishPacketSize']));
    expect(codec.has('QoS')).toBe(false); // a type: the Nest layer may name it
  });

  it('every import of lib/driver, lib/driver/codec, lib/nest and lib/testing is one its layer may make', () => {
    const files = libFiles(ROOT);
    expect(files.length).toBeGreaterThan(100);
    expect(layeringViolations(files, codec, PEERS)).toEqual([]);
  });

  it('reports each kind of forbidden import (the check can fail)', () => {
    const fixtures = [
      { file: 'lib/driver/a.ts', source: "import { Controller } from '@nestjs/common';" },
      { file: 'lib/driver/b.ts', source: "import { Observable } from 'rxjs';" },
      { file: 'lib/driver/c.ts', source: "export { x } from '../nest/index.js';" },
      { file: 'lib/driver/d.ts', source: "const t = await import('../testing/index.js');" },
      { file: 'lib/driver/codec/e.ts', source: "import { connect } from '../connect.js';" },
      { file: 'lib/driver/codec/f.ts', source: "import { Socket } from 'node:net';" },
      { file: 'lib/nest/g.ts', source: "import { MqttAsyncTestBroker } from '../testing/index.js';" },
      { file: 'lib/nest/h.ts', source: "import { encodePacket, type QoS } from '../driver/index.js';" },
      { file: 'lib/nest/i.ts', source: "import { PacketDecoder } from '../driver/codec/decoder.js';" },
      { file: 'lib/nest/j.ts', source: "import { trace } from '@opentelemetry/api';" },
      { file: 'lib/testing/k.ts', source: "import { publishPacketSize } from '../driver/index.js';" },
    ];
    const allowed = [
      { file: 'lib/driver/l.ts', source: "import { connect } from 'node:net';\nimport { Fifo } from './fifo.js';" },
      { file: 'lib/driver/codec/m.ts', source: "import { MqttProtocolError } from '../errors.js';" },
      { file: 'lib/nest/n.ts', source: "import { type QoS, connect } from '../driver/index.js';" },
      { file: 'lib/nest/o.ts', source: "import type * as Api from '@opentelemetry/api';\nimport('@nestjs/terminus');" },
      { file: 'lib/testing/p.ts', source: "import { ServerMqttAsync } from '../nest/index.js';" },
    ];
    const found = layeringViolations([...fixtures, ...allowed], codec, PEERS);
    expect(found.map((v) => v.split(':')[0])).toEqual(fixtures.map((f) => f.file));
  });

  it('reads static, re-export, type-only and dynamic imports', () => {
    expect(
      importsOf(
        "import a, { b, type C } from 'x';\nimport type { D } from 'y';\nexport { e } from 'z';\nawait import('w');",
      ),
    ).toEqual([
      { specifier: 'x', typeOnly: false, dynamic: false, values: ['b', 'default'] },
      { specifier: 'y', typeOnly: true, dynamic: false, values: [] },
      { specifier: 'z', typeOnly: false, dynamic: false, values: ['e'] },
      { specifier: 'w', typeOnly: false, dynamic: true },
    ]);
  });
});
