// Single source of truth, shared with the Rust server: field limits, categories,
// priorities, and the team each escalation reason is passed to.
import raw from '../../shared/webform-rules.json';

export interface LengthRule {
  min: number;
  max: number;
}

export interface WebformRules {
  name: LengthRule;
  subject: LengthRule;
  message: LengthRule;
  email: { max: number };
  categories: string[];
  priorities: string[];
  default_priority: string;
  max_body_bytes: number;
  /** Escalation reason code → the team the customer is told the ticket went to. */
  escalation_teams: Record<string, string>;
}

export const rules: WebformRules = raw as WebformRules;
