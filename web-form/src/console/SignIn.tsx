import { useRef, useState, type FormEvent, type RefObject } from 'react';
import { FormBanner, SendButton, type Notice } from '../FormControls';
import { useIdPrefix } from '../ids';
import { signIn, type Session } from './cognito';
import type { ConsoleConfig } from './config';
import { useFocusOn } from './hooks';

export interface SignInProps {
  config: ConsoleConfig;
  /** Why the operator was signed out, if they were. */
  notice: string | null;
  announce: (text: string) => void;
  onSignedIn: (session: Session) => void;
}

const UNREACHABLE = "We couldn't reach the sign-in service. Please try again.";

/** Email and password → Cognito's InitiateAuth (USER_PASSWORD_AUTH). */
export function SignIn({ config, notice, announce, onSignedIn }: SignInProps) {
  const id = useIdPrefix('tci');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [banner, setBanner] = useState<Notice | null>(notice ? { tone: 'info', text: notice } : null);
  const [missing, setMissing] = useState<{ email?: boolean; password?: boolean }>({});
  const [sending, setSending] = useState(false);
  const heading = useRef<HTMLHeadingElement | null>(null);
  const emailInput = useRef<HTMLInputElement | null>(null);
  const passwordInput = useRef<HTMLInputElement | null>(null);
  // Signed out by the API: the heading first, so the notice under it is read next.
  useFocusOn(notice ? heading : emailInput, notice);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (sending) return;
    const gaps = { email: !email.trim(), password: !password };
    setMissing(gaps);
    if (gaps.email || gaps.password) {
      (gaps.email ? emailInput : passwordInput).current?.focus();
      announce(gaps.email && gaps.password ? '2 fields need attention' : '1 field needs attention');
      return;
    }
    setBanner(null);
    setSending(true);
    announce('Signing in…');
    const r = await signIn(config, email.trim(), password);
    setSending(false);
    if (r.kind === 'signed_in') {
      onSignedIn(r.session);
      return;
    }
    const text = r.kind === 'unreachable' ? UNREACHABLE : r.message;
    setBanner({ tone: 'error', text });
    announce(text);
    if (r.kind === 'refused') {
      setPassword('');
      passwordInput.current?.focus();
    }
  }

  const field = (
    name: 'email' | 'password',
    label: string,
    autoComplete: string,
    value: string,
    set: (v: string) => void,
    ref: RefObject<HTMLInputElement | null>,
  ) => (
    <div className={`ts-field${missing[name] ? ' ts-field--invalid' : ''}`}>
      <label htmlFor={`${id}-${name}`}>{label}</label>
      <input
        id={`${id}-${name}`}
        ref={ref}
        name={name}
        type={name}
        autoComplete={autoComplete}
        value={value}
        aria-invalid={missing[name] || undefined}
        aria-describedby={missing[name] ? `${id}-${name}-error` : undefined}
        onChange={(e) => set(e.target.value)}
      />
      {missing[name] ? (
        <p className="ts-field-error" id={`${id}-${name}-error`}>
          {label} is required
        </p>
      ) : null}
    </div>
  );

  return (
    <form className="ts-card" noValidate onSubmit={onSubmit} aria-labelledby={`${id}-title`} aria-busy={sending || undefined}>
      <h1 id={`${id}-title`} className="ts-card-title" ref={heading} tabIndex={-1}>
        Sign in
      </h1>
      <p className="ts-muted ts-intro">For support team members. Use the email and password your admin gave you.</p>
      {banner ? <FormBanner notice={banner} testId="sign-in-banner" /> : null}
      {field('email', 'Email', 'username', email, setEmail, emailInput)}
      {field('password', 'Password', 'current-password', password, setPassword, passwordInput)}
      <div className="ts-actions">
        <SendButton sending={sending} label="Sign in" />
      </div>
    </form>
  );
}
