// /api/v1/docs: renders the OpenAPI document and lets a signed-in developer try each endpoint.
(function () {
  "use strict";
  var root = document.getElementById("api-docs");
  if (!root) { return; }
  var spec = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function resolve(schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      schema = spec.components.schemas[schema.$ref.split("/").pop()];
    }
    return schema || {};
  }

  function refName(schema) {
    if (!schema) { return ""; }
    if (schema.$ref) { return schema.$ref.split("/").pop(); }
    if (schema.type === "array" && schema.items) { return "[" + (refName(schema.items) || schema.items.type || "") + "]"; }
    return schema.type || "";
  }

  // An example value built from the schema, for the body editor.
  function example(schema, depth) {
    schema = resolve(schema);
    if ((depth || 0) > 4) { return null; }
    if (schema.example !== undefined) { return schema.example; }
    if (schema.enum) { return schema.enum[0]; }
    if (schema.type === "object" || schema.properties) {
      var out = {};
      Object.keys(schema.properties || {}).forEach(function (k) {
        var prop = schema.properties[k];
        if (!prop.readOnly) { out[k] = example(prop, (depth || 0) + 1); }
      });
      return out;
    }
    if (schema.type === "array") { return [example(schema.items, (depth || 0) + 1)]; }
    if (schema.type === "integer" || schema.type === "number") { return 1; }
    if (schema.type === "boolean") { return false; }
    if (schema.type === "string") { return ""; }
    return null;
  }

  function fieldsTable(schema) {
    schema = resolve(schema);
    var props = schema.properties || {};
    var required = schema.required || [];
    var rows = Object.keys(props).map(function (k) {
      var p = props[k];
      var r = resolve(p);
      var kind = refName(p) + (r.enum ? " (" + r.enum.join(" | ") + ")" : "") + (p.nullable ? ", or null" : "");
      return el("tr", {}, [el("td", {}, [el("code", {text: k})]), el("td", {text: kind}),
        el("td", {text: required.indexOf(k) >= 0 ? "required" : ""}),
        el("td", {text: p.description || ""})]);
    });
    if (!rows.length) { return null; }
    return el("table", {"class": "api-fields"}, [el("tbody", {}, rows)]);
  }

  function tryIt(method, path, op) {
    var form = el("form", {"class": "api-try"});
    var inputs = {};
    (op.parameters || []).forEach(function (p) {
      var id = "p-" + Math.random().toString(36).slice(2);
      inputs[p.name] = el("input", {id: id, name: p.name, placeholder: p["in"] + (p.required ? ", required" : "")});
      form.appendChild(el("label", {"for": id, text: p.name}));
      form.appendChild(inputs[p.name]);
    });
    var body = null;
    var media = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (media) {
      body = el("textarea", {rows: "8", "aria-label": "JSON body"});
      body.value = JSON.stringify(example(media.schema), null, 2);
      form.appendChild(body);
    }
    var out = el("pre", {"class": "api-out", "aria-live": "polite"});
    form.appendChild(el("button", {type: "submit", text: "Send " + method.toUpperCase()}));
    form.appendChild(out);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = path, query = [];
      (op.parameters || []).forEach(function (p) {
        var v = inputs[p.name].value;
        if (p["in"] === "path") { url = url.replace("{" + p.name + "}", encodeURIComponent(v)); }
        else if (v !== "") { query.push(encodeURIComponent(p.name) + "=" + encodeURIComponent(v)); }
      });
      if (query.length) { url += "?" + query.join("&"); }
      var headers = {"Accept": "application/json"};
      var token = document.getElementById("api-token").value.trim();
      if (token) { headers.Authorization = "Bearer " + token; }
      var init = {method: method.toUpperCase(), headers: headers, credentials: "omit"};
      if (body) { headers["Content-Type"] = "application/json"; init.body = body.value; }
      out.textContent = "…";
      fetch(url, init).then(function (res) {
        return res.text().then(function (text) {
          try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
          out.textContent = res.status + " " + res.statusText + "\n" + text;
        });
      }).catch(function (err) { out.textContent = String(err); });
    });
    return el("details", {}, [el("summary", {text: "Try it"}), form]);
  }

  function operation(method, path, op) {
    var secured = (op.security || []).some(function (s) { return Object.keys(s).length; });
    var open = (op.security || []).some(function (s) { return !Object.keys(s).length; });
    var head = el("h3", {}, [el("span", {"class": "api-method api-" + method, text: method.toUpperCase()}),
      el("code", {text: " " + path}),
      secured ? el("span", {"class": "muted", text: open ? "  (token optional)" : "  (token required)"}) : null]);
    var section = el("section", {"class": "api-op", id: method + path.replace(/[^a-z0-9]+/gi, "-")},
      [head, el("p", {text: op.summary || ""})]);
    if (op.description) { section.appendChild(el("p", {"class": "muted", text: op.description})); }
    if ((op.parameters || []).length) {
      section.appendChild(el("h4", {text: "Parameters"}));
      section.appendChild(el("ul", {}, op.parameters.map(function (p) {
        return el("li", {}, [el("code", {text: p.name}),
          el("span", {text: " (" + p["in"] + (p.required ? ", required" : "") + ") " + refName(p.schema)})]);
      })));
    }
    var media = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (media) {
      section.appendChild(el("h4", {text: "Body: " + refName(media.schema)}));
      section.appendChild(fieldsTable(media.schema));
    }
    section.appendChild(el("h4", {text: "Responses"}));
    section.appendChild(el("ul", {}, Object.keys(op.responses || {}).map(function (code) {
      var r = op.responses[code];
      if (r.$ref) { r = spec.components.responses[r.$ref.split("/").pop()] || {}; }
      var content = r.content && (r.content["application/json"] || r.content["application/pdf"]);
      var schema = content && content.schema ? " → " + refName(content.schema) : "";
      return el("li", {}, [el("strong", {text: code}), el("span", {text: " " + (r.description || "") + schema})]);
    })));
    section.appendChild(tryIt(method, path, op));
    return section;
  }

  function render() {
    root.textContent = "";
    var byTag = {};
    Object.keys(spec.paths).forEach(function (path) {
      ["get", "post", "put", "patch", "delete"].forEach(function (method) {
        var op = spec.paths[path][method];
        if (!op) { return; }
        if (spec.paths[path].parameters) { op.parameters = spec.paths[path].parameters.concat(op.parameters || []); }
        var tag = (op.tags || ["other"])[0];
        (byTag[tag] = byTag[tag] || []).push(operation(method, path, op));
      });
    });
    var toc = el("ul", {"class": "api-toc"});
    root.appendChild(el("p", {text: spec.info.title + " " + spec.info.version}));
    root.appendChild(toc);
    (spec.tags || []).map(function (t) { return t.name; }).concat(Object.keys(byTag)).forEach(function (tag) {
      if (!byTag[tag] || document.getElementById("tag-" + tag)) { return; }
      var info = (spec.tags || []).filter(function (t) { return t.name === tag; })[0] || {};
      var title = tag.replace(/^api_/, "").replace(/_/g, " ");
      toc.appendChild(el("li", {}, [el("a", {href: "#tag-" + tag, text: title + (info.description ? ": " + info.description : "")})]));
      root.appendChild(el("h2", {id: "tag-" + tag, text: title}));
      if (info.description) { root.appendChild(el("p", {"class": "muted", text: info.description})); }
      byTag[tag].forEach(function (s) { root.appendChild(s); });
    });
  }

  fetch(root.getAttribute("data-spec-url"), {headers: {"Accept": "application/json"}})
    .then(function (res) { return res.json(); })
    .then(function (doc) { spec = doc; render(); })
    .catch(function (err) { root.textContent = "Could not load the OpenAPI document: " + err; });
}());
