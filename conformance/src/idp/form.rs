//! The forms of an HTML page, read the way a browser builds a form submission (HTML Living
//! Standard §4.10.21.4, "constructing the entry list"), small enough to need no HTML crate:
//!
//! - a tokenizer that knows start and end tags, attributes (double-, single- and unquoted,
//!   bare), character references, comments, and the raw-text elements (`script`, `style`,
//!   `textarea`, `title`) whose content is not markup;
//! - per `<form>`: action, method, id, name; its controls' default entries (hidden and text
//!   inputs, checked radios and checkboxes, the selected or first option of a select, text
//!   areas), skipping disabled controls; and its submit buttons.
//!
//! Also: `<base href>` (a form's action resolves against it), a submit button's `formaction`
//! and `formmethod` (they override the form's), and inputs and buttons outside a form that
//! name it with the `form` attribute (the form owner). Not followed: scripts (a login page
//! that needs JavaScript to submit cannot be scripted by the runner), and selects and text
//! areas outside their form.

/// One form of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub id: Option<String>,
    pub name: Option<String>,
    /// The `action` attribute as written (empty: the page's own URL).
    pub action: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The entries a plain submission sends, in document order.
    pub entries: Vec<(String, String)>,
    /// Every control name, in document order, once each (radio groups and unchecked boxes
    /// included), for filling and for messages.
    pub names: Vec<String>,
    /// Names of password inputs (their values are not shown as evidence).
    pub secret_names: Vec<String>,
    /// Submit buttons (`<button>` without a type or with `type=submit`, `<input
    /// type=submit|image>`), in document order.
    pub buttons: Vec<Button>,
}

/// A submit button: its name (if any), value, and the `formaction` and `formmethod` that
/// override the form's when it is pressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Button {
    pub name: Option<String>,
    pub value: String,
    pub action: Option<String>,
    pub method: Option<String>,
}

impl Button {
    fn of(attrs: &[(String, String)]) -> Button {
        Button {
            name: attr(attrs, "name")
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            value: attr(attrs, "value").unwrap_or_default().to_owned(),
            action: attr(attrs, "formaction").map(|a| a.trim().to_owned()),
            method: attr(attrs, "formmethod").map(method_of),
        }
    }
}

/// `POST` for `post` (any case), else `GET` (HTML's default and invalid-value default).
fn method_of(m: &str) -> String {
    if m.eq_ignore_ascii_case("post") {
        "POST".into()
    } else {
        "GET".into()
    }
}

impl Form {
    /// Whether the form has a control or a button called `name`.
    pub fn has_field(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    pub fn has_button(&self, name: &str) -> bool {
        self.buttons.iter().any(|b| b.name.as_deref() == Some(name))
    }

    /// Sets `name` to `value`: replaces its entries (all of a radio group's or a multiple
    /// select's), in place of the first, or adds one.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.entries.iter().position(|(n, _)| n == name) {
            Some(i) => {
                self.entries[i].1 = value.to_owned();
                let mut seen = 0;
                self.entries.retain(|(n, _)| {
                    if n == name {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.entries.push((name.to_owned(), value.to_owned())),
        }
    }

    /// A short description for evidence: `#login POST /authorize (request_id, method, ...;
    /// buttons action=typed, pid x20, cancel=1)`.
    pub fn describe(&self) -> String {
        let who = match (&self.id, &self.name) {
            (Some(id), _) => format!("#{id} "),
            (None, Some(name)) => format!("[name={name}] "),
            (None, None) => String::new(),
        };
        let action = if self.action.is_empty() {
            "(this page)"
        } else {
            &self.action
        };
        let mut buttons: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.buttons.len() {
            let (name, value) = (&self.buttons[i].name, &self.buttons[i].value);
            let same = self.buttons[i..]
                .iter()
                .take_while(|b| &b.name == name)
                .count();
            buttons.push(match (name, same) {
                (Some(n), 1) => format!("{n}={value}"),
                (Some(n), k) => format!("{n} x{k}"),
                (None, 1) => "(unnamed)".to_owned(),
                (None, k) => format!("(unnamed) x{k}"),
            });
            i += same;
        }
        format!(
            "{who}{} {action} (fields: {}; buttons: {})",
            self.method,
            if self.names.is_empty() {
                "none".to_owned()
            } else {
                self.names.join(", ")
            },
            if buttons.is_empty() {
                "none".to_owned()
            } else {
                buttons.join(", ")
            }
        )
    }
}

/// What a page says, for evidence: its title, its forms, and the start of its text.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub title: String,
    pub forms: Vec<Form>,
    /// The first `<base href>`, as written: actions resolve against it (HTML §2.4.1, the
    /// document base URL).
    pub base: Option<String>,
    /// The visible text, whitespace collapsed.
    pub text: String,
}

impl Page {
    pub fn summary(&self, max_text: usize) -> String {
        let mut out = format!("HTML page {}", crate::report::shown(Some(&self.title)));
        if self.forms.is_empty() {
            out.push_str(", no forms");
        }
        for f in &self.forms {
            out.push_str("\n  form ");
            out.push_str(&f.describe());
        }
        let text = cut_chars(&self.text, max_text);
        if !text.is_empty() {
            out.push_str("\n  text: ");
            out.push_str(&text);
        }
        out
    }
}

fn cut_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A tag or text of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
    },
    End {
        name: String,
    },
    Text(String),
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn has_attr(attrs: &[(String, String)], name: &str) -> bool {
    attrs.iter().any(|(k, _)| k == name)
}

/// Elements whose content is text, not markup, up to their end tag.
const RAW_TEXT: [&str; 4] = ["script", "style", "textarea", "title"];

fn tokenize(html: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &html[i..];
        // Comments, doctypes and processing instructions.
        let skip_to = if let Some(comment) = rest.strip_prefix("<!--") {
            Some(comment.find("-->").map_or(html.len(), |e| i + 4 + e + 3))
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            Some(rest.find('>').map_or(html.len(), |e| i + e + 1))
        } else {
            None
        };
        if let Some(end) = skip_to {
            push_text(&mut tokens, &html[text_start..i]);
            i = end;
            text_start = i;
            continue;
        }
        let next = bytes.get(i + 1).copied().unwrap_or(b' ');
        let is_end = next == b'/';
        let name_start = if is_end { i + 2 } else { i + 1 };
        if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            // A lone `<` in text.
            i += 1;
            continue;
        }
        push_text(&mut tokens, &html[text_start..i]);
        let (name, attrs, end) = read_tag(html, name_start);
        i = end;
        text_start = i;
        if is_end {
            tokens.push(Token::End { name });
            continue;
        }
        let raw = RAW_TEXT.contains(&name.as_str());
        tokens.push(Token::Start {
            name: name.clone(),
            attrs,
        });
        if raw {
            let close = format!("</{name}");
            let content_end = find_ci(&html[i..], &close).map_or(html.len(), |e| i + e);
            if name == "textarea" || name == "title" {
                tokens.push(Token::Text(decode_entities(&html[i..content_end])));
            }
            i = content_end;
            text_start = i;
        }
    }
    push_text(&mut tokens, &html[text_start..]);
    tokens
}

fn push_text(tokens: &mut Vec<Token>, raw: &str) {
    if !raw.is_empty() {
        tokens.push(Token::Text(decode_entities(raw)));
    }
}

/// Case-insensitive find of an ASCII needle.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Reads a tag's name and attributes from `start` (just after `<` or `</`); returns them
/// and the index after the closing `>`.
fn read_tag(html: &str, start: usize) -> (String, Vec<(String, String)>, usize) {
    let b = html.as_bytes();
    let mut i = start;
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    let name = html[start..i].to_ascii_lowercase();
    let mut attrs: Vec<(String, String)> = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return (name, attrs, b.len());
        }
        if b[i] == b'>' {
            return (name, attrs, i + 1);
        }
        let name_start = i;
        while i < b.len()
            && !b[i].is_ascii_whitespace()
            && b[i] != b'='
            && b[i] != b'>'
            && !(b[i] == b'/' && i > name_start)
        {
            i += 1;
        }
        let attr_name = html[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let quote = b[i];
                let v_start = i + 1;
                let v_end = b[v_start..]
                    .iter()
                    .position(|c| *c == quote)
                    .map_or(b.len(), |e| v_start + e);
                value = decode_entities(&html[v_start..v_end]);
                i = (v_end + 1).min(b.len());
            } else {
                let v_start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&html[v_start..i]);
            }
        }
        // The first of two same-named attributes wins (HTML §13.2.5.33).
        if !attr_name.is_empty() && !attrs.iter().any(|(k, _)| *k == attr_name) {
            attrs.push((attr_name, value));
        }
    }
}

/// Decodes character references: the named ones forms use, and numeric ones.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(e, _)| e);
        let decoded = end.and_then(|e| {
            let body = &rest[1..e];
            let c = match body {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                "laquo" => Some('«'),
                "raquo" => Some('»'),
                "aelig" => Some('æ'),
                "AElig" => Some('Æ'),
                "oslash" => Some('ø'),
                "Oslash" => Some('Ø'),
                "aring" => Some('å'),
                "Aring" => Some('Å'),
                _ if body.starts_with("#x") || body.starts_with("#X") => {
                    u32::from_str_radix(&body[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if body.starts_with('#') => body[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A select being read.
struct SelectState {
    name: Option<String>,
    multiple: bool,
    disabled: bool,
    /// (value, selected, disabled).
    options: Vec<(String, bool, bool)>,
    /// The option whose text is being read (it has no value attribute).
    text_option: Option<usize>,
}

/// Reads the page: title, forms and text.
pub fn parse(html: &str) -> Page {
    let tokens = tokenize(html);
    let mut page = Page::default();
    let mut text = String::new();
    let mut form: Option<Form> = None;
    let mut select: Option<SelectState> = None;
    let mut textarea: Option<(Option<String>, bool)> = None;
    let mut in_title = false;
    let mut owned: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for token in tokens {
        match token {
            Token::Text(t) => {
                if in_title {
                    page.title.push_str(&t);
                    continue;
                }
                if let Some((name, disabled)) = textarea.take() {
                    if let (Some(f), Some(name), false) = (form.as_mut(), name, disabled) {
                        let value = t.strip_prefix('\n').unwrap_or(&t).to_owned();
                        add_name(f, &name);
                        f.entries.push((name, value));
                    }
                    continue;
                }
                if let Some(s) = select.as_mut()
                    && let Some(i) = s.text_option
                {
                    s.options[i].0.push_str(&t);
                }
                text.push(' ');
                text.push_str(&t);
            }
            // A control that names its form owner belongs to that form wherever it stands.
            Token::Start { name, attrs }
                if matches!(name.as_str(), "input" | "button")
                    && attr(&attrs, "form").is_some() =>
            {
                owned.push((name, attrs));
            }
            Token::Start { name, attrs } => match name.as_str() {
                "title" => in_title = true,
                "base" if page.base.is_none() => {
                    page.base = attr(&attrs, "href").map(|h| h.trim().to_owned());
                }
                "form" if form.is_none() => {
                    form = Some(Form {
                        id: attr(&attrs, "id").map(str::to_owned),
                        name: attr(&attrs, "name").map(str::to_owned),
                        action: attr(&attrs, "action").unwrap_or_default().trim().to_owned(),
                        method: method_of(attr(&attrs, "method").unwrap_or_default()),
                        ..Form::default()
                    });
                }
                "input" => {
                    if let Some(f) = form.as_mut() {
                        input(f, &attrs);
                    }
                }
                "button" => {
                    if let Some(f) = form.as_mut() {
                        button(f, &attrs);
                    }
                }
                "select" => {
                    finish_select(form.as_mut(), select.take());
                    select = Some(SelectState {
                        name: attr(&attrs, "name")
                            .filter(|n| !n.is_empty())
                            .map(str::to_owned),
                        multiple: has_attr(&attrs, "multiple"),
                        disabled: has_attr(&attrs, "disabled"),
                        options: Vec::new(),
                        text_option: None,
                    });
                }
                "option" => {
                    if let Some(s) = select.as_mut() {
                        let selected = has_attr(&attrs, "selected");
                        let disabled = has_attr(&attrs, "disabled");
                        match attr(&attrs, "value") {
                            Some(v) => {
                                s.options.push((v.to_owned(), selected, disabled));
                                s.text_option = None;
                            }
                            None => {
                                s.options.push((String::new(), selected, disabled));
                                s.text_option = Some(s.options.len() - 1);
                            }
                        }
                    }
                }
                "textarea" => {
                    let name = attr(&attrs, "name")
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned);
                    if let (Some(f), Some(n)) = (form.as_mut(), &name) {
                        add_name(f, n);
                    }
                    textarea = Some((name, has_attr(&attrs, "disabled")));
                }
                _ => {}
            },
            Token::End { name } => match name.as_str() {
                "title" => in_title = false,
                "textarea" => {
                    // An empty text area has no text token: its value is empty.
                    if let Some((Some(name), false)) = textarea.take()
                        && let Some(f) = form.as_mut()
                    {
                        f.entries.push((name, String::new()));
                    }
                }
                "option" => {
                    if let Some(s) = select.as_mut() {
                        s.text_option = None;
                    }
                }
                "select" => finish_select(form.as_mut(), select.take()),
                "form" => {
                    finish_select(form.as_mut(), select.take());
                    if let Some(f) = form.take() {
                        page.forms.push(f);
                    }
                }
                _ => {}
            },
        }
    }
    finish_select(form.as_mut(), select.take());
    if let Some(f) = form.take() {
        page.forms.push(f);
    }
    for (tag, attrs) in owned {
        let owner = attr(&attrs, "form").unwrap_or_default();
        let Some(f) = page
            .forms
            .iter_mut()
            .find(|f| f.id.as_deref() == Some(owner))
        else {
            continue;
        };
        match tag.as_str() {
            "input" => input(f, &attrs),
            _ => button(f, &attrs),
        }
    }
    page.title = page.title.split_whitespace().collect::<Vec<_>>().join(" ");
    page.text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    page
}

fn add_name(f: &mut Form, name: &str) {
    if !f.names.iter().any(|n| n == name) {
        f.names.push(name.to_owned());
    }
}

/// A `<button>`: a submit button unless its type says otherwise.
fn button(f: &mut Form, attrs: &[(String, String)]) {
    let kind = attr(attrs, "type").unwrap_or("submit").to_ascii_lowercase();
    if kind == "submit" && !has_attr(attrs, "disabled") {
        f.buttons.push(Button::of(attrs));
    }
}

fn input(f: &mut Form, attrs: &[(String, String)]) {
    let kind = attr(attrs, "type").unwrap_or("text").to_ascii_lowercase();
    let disabled = has_attr(attrs, "disabled");
    let name = attr(attrs, "name").filter(|n| !n.is_empty());
    match kind.as_str() {
        "submit" | "image" => {
            if !disabled {
                f.buttons.push(Button::of(attrs));
            }
            return;
        }
        "button" | "reset" | "file" => return,
        _ => {}
    }
    let Some(name) = name else {
        return;
    };
    add_name(f, name);
    if kind == "password" && !f.secret_names.iter().any(|n| n == name) {
        f.secret_names.push(name.to_owned());
    }
    if disabled {
        return;
    }
    match kind.as_str() {
        "radio" | "checkbox" => {
            if has_attr(attrs, "checked") {
                let value = attr(attrs, "value").unwrap_or("on");
                f.entries.push((name.to_owned(), value.to_owned()));
            }
        }
        _ => {
            let value = attr(attrs, "value").unwrap_or_default();
            f.entries.push((name.to_owned(), value.to_owned()));
        }
    }
}

fn finish_select(form: Option<&mut Form>, select: Option<SelectState>) {
    let (Some(f), Some(s)) = (form, select) else {
        return;
    };
    let Some(name) = s.name else {
        return;
    };
    add_name(f, &name);
    if s.disabled {
        return;
    }
    let clean = |v: &str| v.split_whitespace().collect::<Vec<_>>().join(" ");
    let selected: Vec<&(String, bool, bool)> = s
        .options
        .iter()
        .filter(|(_, sel, dis)| *sel && !dis)
        .collect();
    let chosen: Vec<String> = if s.multiple {
        selected.iter().map(|(v, _, _)| clean(v)).collect()
    } else {
        // The last selected option wins; none selected: the first enabled one.
        selected
            .last()
            .map(|(v, _, _)| v)
            .or_else(|| s.options.iter().find(|(_, _, dis)| !dis).map(|(v, _, _)| v))
            .map(|v| vec![clean(v)])
            .unwrap_or_default()
    };
    for v in chosen {
        f.entries.push((name.clone(), v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Logg inn &ndash; Test</title>
<script>if (a < b) { document.write("<form id='fake'>") }</script>
<style>form { color: red }</style></head>
<body>
<!-- <form id="commented"> -->
<form id=search method=get action="/idp/x/authorize">
  <input type="hidden" name="request_id" value="R&amp;1">
  <input type=search name=q>
  <button>Søk</button>
</form>
<FORM ID="login" METHOD="POST" ACTION='/idp/x/authorize?a=1&amp;b=2'>
  <input type="hidden" name="request_id" value="R&#38;1">
  <input type="radio" name="method" value="level4" checked> Level 4
  <input type="radio" name="method" value="level3"> Level 3
  <input type="checkbox" name="remember">
  <input type="checkbox" name="terms" checked>
  <input type="text" name="typed_pid" value="">
  <input type="password" name="password" value="x">
  <input type="text" name="off" value="no" disabled>
  <select name="lang"><option value="nb">Norsk</option><option selected>en</option></select>
  <select name="empty"></select>
  <textarea name="note">
line</textarea>
  <button type="submit" name="action" value="typed">Log in</button>
  <button type="button" name="js">Not a submit</button>
  <button name="pid" value="01010112345">A</button>
  <button name="pid" value="02020212345">B</button>
  <input type="submit" name="cancel" value="Avbryt">
</FORM>
<p>Velg &laquo;en&raquo; person</p>
</body></html>"#;

    #[test]
    fn reads_forms_like_a_browser() {
        let page = parse(PAGE);
        assert_eq!(page.title, "Logg inn – Test");
        assert_eq!(page.forms.len(), 2, "{:#?}", page.forms);
        let search = &page.forms[0];
        assert_eq!(search.id.as_deref(), Some("search"));
        assert_eq!(search.method, "GET");
        assert_eq!(
            search.entries,
            [
                ("request_id".into(), "R&1".into()),
                ("q".into(), String::new())
            ]
        );
        assert_eq!(search.buttons, [Button::default()]);

        let login = &page.forms[1];
        assert_eq!(login.id.as_deref(), Some("login"));
        assert_eq!(login.method, "POST");
        assert_eq!(login.action, "/idp/x/authorize?a=1&b=2");
        let e: Vec<(&str, &str)> = login
            .entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            e,
            [
                ("request_id", "R&1"),
                ("method", "level4"),
                ("terms", "on"),
                ("typed_pid", ""),
                ("password", "x"),
                ("lang", "en"),
                ("note", "line"),
            ]
        );
        assert!(login.has_field("remember"));
        assert!(login.has_field("off"));
        assert!(login.has_field("empty"));
        assert_eq!(login.secret_names, ["password"]);
        let buttons: Vec<(Option<&str>, &str)> = login
            .buttons
            .iter()
            .map(|b| (b.name.as_deref(), b.value.as_str()))
            .collect();
        assert_eq!(
            buttons,
            [
                (Some("action"), "typed"),
                (Some("pid"), "01010112345"),
                (Some("pid"), "02020212345"),
                (Some("cancel"), "Avbryt"),
            ]
        );
        assert!(login.describe().contains("pid x2"), "{}", login.describe());
        assert!(page.text.contains("Velg «en» person"), "{}", page.text);
        assert!(!page.text.contains("document.write"));
    }

    #[test]
    fn set_replaces_groups_and_adds() {
        let mut f = parse(PAGE).forms.remove(1);
        f.set("method", "level3");
        f.set("remember", "on");
        assert_eq!(f.entries.iter().filter(|(k, _)| k == "method").count(), 1);
        assert!(f.entries.contains(&("method".into(), "level3".into())));
        assert!(f.entries.contains(&("remember".into(), "on".into())));
    }

    #[test]
    fn survives_broken_markup() {
        for html in [
            "",
            "<",
            "<form",
            "<form action=\"x",
            "<form><input name=a value='b",
            "a < b and c > d",
            "<!-- never closed",
            "<textarea name=t>no end",
            "&#xZZ; &#99999999; &; &amp",
            "<form><select name=s><option>one<option>two</select></form>",
        ] {
            let _ = parse(html);
        }
        let p = parse("<form><select name=s><option>one<option selected>two</select></form>");
        assert_eq!(p.forms[0].entries, [("s".into(), "two".into())]);
        assert_eq!(
            decode_entities("a&#x41;&#66;&lt;&unknown;&"),
            "aAB<&unknown;&"
        );
    }
}
