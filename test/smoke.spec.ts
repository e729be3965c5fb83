import { describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

@Controller()
class PingController {}

@Module({ controllers: [PingController] })
class PingModule {}

describe('toolchain', () => {
  it('loads Nest 12 (ESM) under ts-jest', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [PingModule] }).compile();
    expect(moduleRef.get(PingController)).toBeInstanceOf(PingController);
    await moduleRef.close();
  });
});
