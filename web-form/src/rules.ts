// Single source of truth for field limits, shared with the Rust server.
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
}

export const rules: WebformRules = raw as WebformRules;
