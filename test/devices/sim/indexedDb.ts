/**
 * IndexedDB for the renderer's database code under Node (fake-indexeddb keeps every database in
 * memory for the life of the process). Imported first: Dexie reads the globals when it is first
 * imported (its largest key depends on them).
 */
import 'fake-indexeddb/auto';
