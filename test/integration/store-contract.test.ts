// The Store contract (test/support/store-contract.ts) on both backends: MariaDB/MySQL (127.0.0.1:3306 as root,
// or GISBOT_TEST_MYSQL_URL) and SQLite in a temporary file. Every test gets a fresh database.
import { createMysqlStore } from '../../src/adapters/store/mysql.ts';
import { createSqliteStore } from '../../src/adapters/store/sqlite.ts';
import type { Store } from '../../src/core/ports.ts';
import { checkMoneyInvariants, createTestDatabase } from '../support/mysql.ts';
import { checkSqliteInvariants, createTestSqliteFile } from '../support/sqlite.ts';
import { storeContract } from '../support/store-contract.ts';
import type { StoreFixture, StoreOpenOptions } from '../support/store-contract.ts';
import { telegramStoreContract } from '../support/telegram-store-contract.ts';

/** A fixture whose `cleanup` closes every store it opened before removing the database. */
async function fixture(
  openStore: (options: StoreOpenOptions) => Store,
  checkInvariants: StoreFixture['checkInvariants'],
  removeDatabase: () => Promise<void>,
): Promise<StoreFixture> {
  const opened: Store[] = [];
  const open = (options: StoreOpenOptions): Store => {
    const store = openStore(options);
    opened.push(store);
    return store;
  };
  const store = open({ notifications: true });
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    await removeDatabase();
    throw error;
  }
  return {
    store,
    open,
    checkInvariants,
    async cleanup() {
      for (const s of opened) await s.close();
      await removeDatabase();
    },
  };
}

async function mysqlFixture(): Promise<StoreFixture> {
  const db = await createTestDatabase();
  return fixture(
    (options) => createMysqlStore({ url: db.url, ...options, connectionLimit: 4 }),
    (answersByUs, charges, business) => checkMoneyInvariants(db.url, answersByUs, charges, business),
    () => db.drop(),
  );
}

async function sqliteFixture(): Promise<StoreFixture> {
  const file = await createTestSqliteFile();
  return fixture(
    (options) => createSqliteStore({ path: file.path, ...options }),
    (answersByUs, charges, business) => checkSqliteInvariants(file.path, answersByUs, charges, business),
    () => file.cleanup(),
  );
}

storeContract('MySQL', mysqlFixture);
storeContract('SQLite', sqliteFixture);
telegramStoreContract('MySQL', mysqlFixture);
telegramStoreContract('SQLite', sqliteFixture);
