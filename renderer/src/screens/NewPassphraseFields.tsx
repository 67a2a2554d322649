import { useId } from 'react';
import { estimatePassphrase, newPassphraseProblem } from '../../../shared/protocol/passphrasePolicy.js';

const LEVELS = { 'too short': 0, weak: 1, fair: 2, strong: 3 } as const;

/**
 * A new passphrase typed twice, with a strength hint as it is typed. The caller checks the two agree
 * and the length (`checkNewPassphrase`) when the form is sent.
 */
export function NewPassphraseFields(props: {
  passphrase: string;
  repeat: string;
  onPassphrase(value: string): void;
  onRepeat(value: string): void;
  labels?: { passphrase: string; repeat: string };
}) {
  const id = useId();
  const labels = props.labels ?? { passphrase: 'New passphrase', repeat: 'Repeat the passphrase' };
  const estimate = estimatePassphrase(props.passphrase);
  return (
    <>
      <label htmlFor={`${id}-new`}>{labels.passphrase}</label>
      <input
        id={`${id}-new`}
        type="password"
        autoComplete="new-password"
        value={props.passphrase}
        onChange={(e) => props.onPassphrase(e.target.value)}
        aria-describedby={`${id}-strength`}
      />
      <div className="inline-row">
        <meter id={`${id}-meter`} min={0} max={3} low={1.5} high={2.5} optimum={3} value={LEVELS[estimate.strength]} aria-label="Passphrase strength" />
        <span id={`${id}-strength`} className="hint" aria-live="polite" data-testid="passphrase-strength" data-strength={props.passphrase ? estimate.strength : ''}>
          {props.passphrase ? estimate.hint : 'Several unrelated words are easy to remember and hard to guess.'}
        </span>
      </div>
      <label htmlFor={`${id}-repeat`}>{labels.repeat}</label>
      <input id={`${id}-repeat`} type="password" autoComplete="new-password" value={props.repeat} onChange={(e) => props.onRepeat(e.target.value)} />
    </>
  );
}

/** Why a new passphrase typed twice cannot be used, or null. */
export function checkNewPassphrase(passphrase: string, repeat: string): string | null {
  return newPassphraseProblem(passphrase) ?? (passphrase === repeat ? null : 'The two passphrases differ. Type the same passphrase twice.');
}
