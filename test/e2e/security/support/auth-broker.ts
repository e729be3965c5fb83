import { execFileSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoPlugin, requireBinary } from '../../../support/binaries.mjs';
import { type MosquittoHandle, type MosquittoOptions, startMosquitto } from '../../../support/mosquitto.js';

/** Users of the test broker; passwords are random per run. */
export interface AuthBroker {
  readonly broker: MosquittoHandle;
  readonly url: string;
  readonly passwords: Record<string, string>;
  /** Sets (or adds) a user's password in the password file; takes effect on the next restart. */
  setPassword(user: string, password: string): void;
  stop(): Promise<void>;
}

/**
 * ACL: alice may read and write `alice/#` and read `public/#`; bob may read and write `bob/#`; anonymous
 * clients are refused. Passwords are hashed with `mosquitto_passwd -b` into the broker's password file.
 */
const ACL = ['user alice', 'topic readwrite alice/#', 'topic read public/#', '', 'user bob', 'topic readwrite bob/#'];

export async function startAuthBroker(
  passwords: Record<string, string>,
  options: MosquittoOptions = {},
): Promise<AuthBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'mosq-auth-'));
  chmodSync(dir, 0o755);
  const passwordFile = join(dir, 'passwords');
  const aclFile = join(dir, 'acl');
  writeFileSync(passwordFile, '');
  writeFileSync(aclFile, `${ACL.join('\n')}\n`);
  const setPassword = (user: string, password: string): void => {
    execFileSync(requireBinary('mosquitto_passwd'), ['-b', passwordFile, user, password], { stdio: 'ignore' });
    chmodSync(passwordFile, 0o644);
  };
  for (const [user, password] of Object.entries(passwords)) setPassword(user, password);
  chmodSync(aclFile, 0o644);
  const broker = await startMosquitto({
    ...options,
    extraConfig: [
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      `acl_file ${aclFile}`,
      ...(options.extraConfig ?? []),
    ],
  });
  return {
    broker,
    url: broker.url,
    passwords,
    setPassword,
    async stop() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The dynamic-security plugin of the installed mosquitto, or undefined (absent, or HIDE_BROKERS=1). */
export const DYNSEC_PLUGIN: string | undefined = mosquittoPlugin('dynamic_security');
export const hasDynsec: boolean = DYNSEC_PLUGIN !== undefined;

/** A client entry of the dynamic-security JSON: PBKDF2-SHA512, 101 iterations, 12-byte salt (as mosquitto_ctrl). */
function dynsecClient(username: string, password: string, rolename: string): object {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, 101, 64, 'sha512');
  return {
    username,
    password: hash.toString('base64'),
    salt: salt.toString('base64'),
    iterations: 101,
    roles: [{ rolename }],
  };
}

/**
 * mosquitto with the dynamic-security plugin, which (unlike acl_file in mosquitto 2.0) also refuses SUBSCRIBE:
 * each user may publish and subscribe `<user>/#` only; everything else is denied by default.
 */
export async function startDynsecBroker(passwords: Record<string, string>): Promise<AuthBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'mosq-dynsec-'));
  chmodSync(dir, 0o777);
  const users = Object.entries(passwords);
  const config = {
    clients: users.map(([user, pw]) => dynsecClient(user, pw, `${user}-role`)),
    roles: users.map(([user]) => ({
      rolename: `${user}-role`,
      acls: [
        { acltype: 'publishClientSend', topic: `${user}/#`, allow: true },
        { acltype: 'subscribePattern', topic: `${user}/#`, allow: true },
      ],
    })),
    groups: [],
    defaultACLAccess: { publishClientSend: false, publishClientReceive: true, subscribe: false, unsubscribe: true },
  };
  const file = join(dir, 'dynamic-security.json');
  writeFileSync(file, JSON.stringify(config));
  chmodSync(file, 0o666);
  const broker = await startMosquitto({
    extraConfig: ['allow_anonymous false', `plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${file}`],
  });
  return {
    broker,
    url: broker.url,
    passwords,
    setPassword: () => {
      throw new Error('use startAuthBroker for password rotation');
    },
    async stop() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
