// Renders /openapi.json as a readable page: routes, parameters, bodies and the models' fields. Text nodes only.
"use strict";

(function () {
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function typeOf(schema) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.type === "array") return typeOf(schema.items) + "[]";
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    return schema.format ? schema.type + " (" + schema.format + ")" : (schema.type || "any");
  }

  function route(path, method, op) {
    const section = el("section", { class: "route", id: method + "-" + path },
      el("h2", {}, el("span", { class: "method method-" + method, text: method.toUpperCase() }), " ", el("code", { text: path })),
      el("p", { text: op.summary || "" }),
      op.description ? el("p", { class: "note", text: op.description }) : null,
      op.security ? el("p", { class: "note", text: "Takes the deployment's auth (a bearer token with AuthMode=jwt)." }) : null);
    if (op.parameters && op.parameters.length) {
      section.append(el("table", { class: "fields" },
        el("thead", {}, el("tr", {}, ["Parameter", "In", "Type", "What"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, op.parameters.map((p) => el("tr", {},
          el("td", {}, el("code", { text: p.name })), el("td", { text: p.in }),
          el("td", { text: typeOf(p.schema) }), el("td", { text: p.description || "" }))))));
    }
    if (op.requestBody) {
      section.append(el("p", {}, "Body: ", el("a", { href: "#schema-" + typeOf(op.requestBody.content["application/json"].schema),
        text: typeOf(op.requestBody.content["application/json"].schema) })));
    }
    const replies = Object.entries(op.responses || {}).map(([status, reply]) => {
      const json = reply.content && reply.content["application/json"];
      return el("li", {}, el("code", { text: status }), " " + (reply.description || "") + (json ? " → " : ""),
        json ? el("a", { href: "#schema-" + typeOf(json.schema), text: typeOf(json.schema) }) : null);
    });
    section.append(el("ul", { class: "replies" }, replies));
    return section;
  }

  function model(name, schema) {
    const required = new Set(schema.required || []);
    return el("section", { class: "route", id: "schema-" + name },
      el("h2", {}, el("code", { text: name })),
      schema.description ? el("p", { text: schema.description }) : null,
      el("table", { class: "fields" },
        el("thead", {}, el("tr", {}, ["Field", "Type", "What"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, Object.entries(schema.properties || {}).map(([field, s]) => el("tr", {},
          el("td", {}, el("code", { text: field }), required.has(field) ? " (required)" : ""),
          el("td", { text: typeOf(s) }), el("td", { text: s.description || "" }))))));
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const main = document.getElementById("docs");
    const status = document.getElementById("docs-status");
    try {
      const response = await fetch("openapi.json");
      const doc = await response.json();
      status.remove();
      main.append(el("p", { text: doc.info.description }), el("p", { class: "note", text: "Version " + doc.info.version }));
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) main.append(route(path, method, op));
      }
      main.append(el("h1", { text: "Models" }));
      for (const [name, schema] of Object.entries(doc.components.schemas)) main.append(model(name, schema));
    } catch (e) {
      status.textContent = "Could not load openapi.json: " + e.message;
    }
  });
})();
