import { useState } from 'react';
import { CreateIdentityForm } from '../identities/CreateIdentityForm.js';
import { ImportIdentityForm } from '../identities/ImportIdentityForm.js';

/** First run: create an identity, or bring one back from a backup. */
export function OnboardingScreen() {
  const [mode, setMode] = useState<'create' | 'import'>('create');
  return (
    <main className="centered">
      <div className="card onboarding">
        <h1>Welcome to Deaddrop</h1>
        <p className="lead">
          Private messages through dead drops: the server only ever sees sealed envelopes of one size, never who
          talks to whom.
        </p>
        <div className="segmented" role="group" aria-label="How to start">
          <button type="button" aria-pressed={mode === 'create'} onClick={() => setMode('create')}>
            Create a new identity
          </button>
          <button type="button" aria-pressed={mode === 'import'} onClick={() => setMode('import')}>
            Import a backup
          </button>
        </div>
        <section aria-label={mode === 'create' ? 'Create a new identity' : 'Import a backup'}>
          {mode === 'create' ? <CreateIdentityForm onCreated={() => undefined} /> : <ImportIdentityForm onImported={() => undefined} />}
        </section>
      </div>
    </main>
  );
}
