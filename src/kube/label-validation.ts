// Label validation, as apimachinery's util/validation: label keys are qualified names (with an optional
// DNS subdomain prefix), values are label values.

const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const MAX_NAME_LENGTH = 63;
const MAX_PREFIX_LENGTH = 253;

function quote(s: string): string {
  return JSON.stringify(s);
}

export function invalid(path: string, value: string, detail: string): string {
  return `${path}: Invalid value: ${quote(value)}: ${detail}`;
}

/** Problems with a label key (empty list when valid). */
export function validateLabelKey(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else {
      if (prefix.length > MAX_PREFIX_LENGTH)
        errs.push(`prefix part must be no more than ${MAX_PREFIX_LENGTH} characters`);
      if (!DNS1123_SUBDOMAIN_RE.test(prefix))
        errs.push(
          "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " +
            "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex " +
            `used for validation is '${DNS1123_SUBDOMAIN_FMT}')`,
        );
    }
  } else {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end " +
        "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " +
        `validation is '${QUALIFIED_NAME_FMT}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else {
    if (name.length > MAX_NAME_LENGTH)
      errs.push(`name part must be no more than ${MAX_NAME_LENGTH} characters`);
    if (!QUALIFIED_NAME_RE.test(name))
      errs.push(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
          "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
          `'${QUALIFIED_NAME_FMT}')`,
      );
  }
  return errs;
}

/** Problems with a label value (empty list when valid). */
export function validateLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > MAX_NAME_LENGTH) errs.push(`must be no more than ${MAX_NAME_LENGTH} characters`);
  if (!LABEL_VALUE_RE.test(value))
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and " +
        "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', " +
        `regex used for validation is '${LABEL_VALUE_FMT}')`,
    );
  return errs;
}
