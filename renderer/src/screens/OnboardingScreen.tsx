import { useState } from 'react';
import { LinkExistingDeviceForm } from '../devices/LinkExistingDeviceForm.js';
import { CreateIdentityForm } from '../identities/CreateIdentityForm.js';
import { ImportIdentityForm } from '../identities/ImportIdentityForm.js';

type StartMode = 'create' | 'import' | 'link';
const START_LABELS: Record<StartMode, string> = {
  create: 'Create a new identity',
  import: 'Import a backup',
  link: 'Link to an existing device',
};

/** First run: create an identity, bring one back from a backup, or take it over from another device of the user's. */
export function OnboardingScreen() {
  const [mode, setMode] = useState<StartMode>('create');
  return (
    <main className="centered">
      <div className="card onboarding">
        <h1>Welcome to Deaddrop</h1>
        <p className="lead">
          Private messages through dead drops: the server only ever sees sealed envelopes of one size, never who
          talks to whom.
        </p>
        <div className="segmented" role="group" aria-label="How to start">
          {(Object.keys(START_LABELS) as StartMode[]).map((each) => (
            <button key={each} type="button" aria-pressed={mode === each} onClick={() => setMode(each)}>
              {START_LABELS[each]}
            </button>
          ))}
        </div>
        <section aria-label={START_LABELS[mode]}>
          {mode === 'create' && <CreateIdentityForm onCreated={() => undefined} />}
          {mode === 'import' && <ImportIdentityForm onImported={() => undefined} />}
          {mode === 'link' && <LinkExistingDeviceForm onLinked={() => undefined} />}
        </section>
      </div>
    </main>
  );
}
