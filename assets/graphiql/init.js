// GraphiQL 3.9 UMD: globals React, ReactDOM, GraphiQL. graphiql.min.js BUNDLES the graphql-ws
// client, so `subscriptionUrl` is enough for graphql-transport-ws subscriptions.
// The JSON in GraphiQL's "Headers" tab is sent as HTTP headers on POST /graphql AND as the
// `connection_init` payload on the WebSocket, so {"Authorization": "Bearer <access_token>"}
// authenticates both (innkeep's own page; no request leaves this origin).
(function () {
  var wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  var fetcher = GraphiQL.createFetcher({
    url: location.origin + '/graphql',
    subscriptionUrl: wsScheme + '//' + location.host + '/graphql/ws',
  });
  var params = new URLSearchParams(location.search);
  var props = {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    // Used only when GraphiQL has no saved tabs in localStorage (first visit).
    // Signed-out by default; paste {"Authorization": "Bearer <access_token>"} to sign in.
    defaultHeaders: '{}',
    defaultQuery: '# A listing page in one round trip: properties and their hosts.\n' +
      '# Sign in: Headers tab, {"Authorization": "Bearer <access_token>"}.\n' +
      '{\n  properties(first: 5, filter: {city: "Lisbon"}) {\n    edges { node {\n' +
      '      id title pricePerNight currency ratingAvg\n      host { name }\n    } }\n' +
      '    pageInfo { hasNextPage endCursor }\n  }\n}\n',
    shouldPersistHeaders: false,
  };
  // ?query=...&headers=... override the saved tab (links; the headless-browser check).
  if (params.get('query')) props.query = params.get('query');
  if (params.get('headers')) props.headers = params.get('headers');
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, props));
})();
